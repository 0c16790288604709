"""Work on a reference photo is done once per run and kept by the process (providers/local/
memo.py): a second run of the same photo gets the same cut without cutting, read-only; a
failure is not kept; what is kept stays under its byte limit, least recently used first."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from local_images import encode, product_shot
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from agentic_image_gen.core.errors import UnusableReference
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.providers.local import memo
from agentic_image_gen.providers.local.cutout import CACHE_KEY, cutout_for
from agentic_image_gen.providers.local.segment import ModelStore, SegmenterPool
from agentic_image_gen.providers.local.segment.classical import ClassicalSegmenter
from agentic_image_gen.providers.local.segment.models import HubModel
from agentic_image_gen.providers.local.segment.onnx_model import ModelFormat
from agentic_image_gen.providers.local.segment.registry import NAME_KEY, POOL_KEY


class CountingPool(SegmenterPool):
    """The classical segmenter, counting the cuts it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.cuts = 0

    def get(self, name: str | None = None) -> ClassicalSegmenter:
        self.cuts += 1
        return ClassicalSegmenter()


def unseen_photo() -> bytes:
    """A drawn ring whose bytes no other test has (a text chunk of its own): nothing of it
    is kept yet."""
    image = Image.open(io.BytesIO(product_shot(fill=0.4)))
    info = PngInfo()
    info.add_text("test", uuid.uuid4().hex)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def run_state(pool: SegmenterPool) -> dict[str, Any]:
    """A run's shared provider state, as the local provider makes it (cutting.py)."""
    return {POOL_KEY: pool, NAME_KEY: "classical"}


def test_a_second_run_of_the_same_photo_gets_its_cut_without_cutting() -> None:
    data = unseen_photo()
    reference = ReferenceImage("ring.png", data, "image/png", 512, 512)
    pool = CountingPool()

    async def two_runs() -> tuple[Any, Any, Any]:
        first_run, second_run = run_state(pool), run_state(pool)
        together = await asyncio.gather(  # two components of one run ask at once
            cutout_for(reference, first_run), cutout_for(reference, first_run)
        )
        assert together[0] is together[1]
        return together[0], await cutout_for(reference, second_run), first_run

    first, second, state = asyncio.run(two_runs())
    assert pool.cuts == 1  # cut once, for both runs
    assert second is first
    assert first.alpha.max() == 1.0 and 0.05 < float(first.alpha.mean()) < 0.95
    for array in (first.rgb, first.alpha):
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 0
    assert len(state[CACHE_KEY]) == 1  # one task in the run, whoever asked


def test_a_photo_with_no_product_fails_every_run_and_is_not_kept() -> None:
    data = encode(np.full((256, 256, 3), 235, np.uint8))
    reference = ReferenceImage("blank.png", data, "image/png", 256, 256)
    pool = CountingPool()
    for _ in range(2):
        with pytest.raises(UnusableReference, match=r"blank\.png"):
            asyncio.run(cutout_for(reference, run_state(pool)))
    assert pool.cuts == 2  # tried again: a failure is not kept


def test_what_the_process_keeps_stays_under_its_limit_least_recently_used_first() -> None:
    kept = memo.Kept(limit=3 * (1000 + memo.OVERHEAD))
    arrays = {name: np.zeros(1000, np.uint8) for name in "abcd"}
    for name in "abc":
        kept.put(("space", name), arrays[name])
    assert kept.get(("space", "a")) is arrays["a"]  # used: now the most recent
    kept.put(("space", "d"), arrays["d"])  # over the limit: "b" goes
    assert kept.get(("space", "b")) is None
    assert all(kept.get(("space", name)) is arrays[name] for name in "acd")
    kept.put(("space", "huge"), np.zeros(8000, np.uint8))  # bigger than the limit: not kept
    assert kept.get(("space", "huge")) is None and kept.get(("space", "a")) is not None


def test_values_without_arrays_count_too_so_their_number_is_bounded() -> None:
    kept = memo.Kept(limit=2 * memo.OVERHEAD)
    for n in range(5):
        kept.put(("junk", str(n)), {"shares": {"backdrop": 0.0}, "specks": n})
    assert [n for n in range(5) if kept.get(("junk", str(n))) is not None] == [3, 4]
    nothing = memo.Kept(0)  # what a test that swaps the cut uses: nothing at all is kept
    nothing.put(("junk", "0"), {"specks": 0})
    assert nothing.get(("junk", "0")) is None


def test_other_weights_under_the_same_name_are_another_segmenter(tmp_path: Path) -> None:
    def store(weights: bytes) -> ModelStore:
        sha = hashlib.sha256(weights).hexdigest()
        spec = HubModel("isnet", "example/tiny", "t.onnx", "0" * 40, sha, ModelFormat(32), 1, "MIT")
        return ModelStore(tmp_path, {"isnet": spec})

    one, other = SegmenterPool(store(b"one")), SegmenterPool(store(b"other"))
    assert one.weights("isnet") != other.weights("isnet")
    assert one.weights("isnet").startswith("isnet@")
    assert one.weights("classical") == "classical"
