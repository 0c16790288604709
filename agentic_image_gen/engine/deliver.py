"""The delivery step: a marketplace profile's final pass over the run's best image (the
pixel work is pixels/delivery.py), saved beside the run's images.

Where the product is comes from a locked product's placement, else the run's segmenter cut
of the image: the pass must never whiten a pixel of the product, and a white-gold facet on a
white sweep is as white as the sweep."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from agentic_image_gen.core.profiles import Profile
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import Delivery, ReferenceImage
from agentic_image_gen.pixels.arrays import FloatImage
from agentic_image_gen.pixels.delivery import deliver, product_frame
from agentic_image_gen.pixels.fidelity import placed_alpha
from agentic_image_gen.providers.base import ProductCutter
from agentic_image_gen.store.run_store import RunStore


async def product_in(
    data: bytes, cutter: ProductCutter | None, placed: bytes | None
) -> FloatImage | None:
    """Where the product is in ``data``: the locked placement's alpha, else the cutter's cut
    of the image itself; None when neither can say (delivery then reads the pixels alone)."""
    if placed is not None:
        return await asyncio.to_thread(placed_alpha, placed)
    if cutter is None:
        return None
    with contextlib.suppress(Exception):
        cut = await cutter.cut(ReferenceImage("best image", data, "image/png", 0, 0))
        return await asyncio.to_thread(product_frame, data, cut.alpha, cut.origin)
    return None


async def deliver_best(
    result: RunResult,
    store: RunStore,
    profile: Profile,
    output_format: str,
    cutter: ProductCutter | None = None,
    placed: bytes | None = None,
) -> Delivery | None:
    """Conform the run's best image to ``profile`` and save it beside the run's images.
    ``placed``: the locked canvas whose alpha is where the product was put."""
    best = result.best()
    if best is None:
        return None
    data = await asyncio.to_thread(Path(best.image_path).read_bytes)
    product = await product_in(data, cutter, placed)
    delivered, record = await asyncio.to_thread(deliver, data, profile, output_format, product)
    path = await asyncio.to_thread(store.save_delivery, profile.name, record.format, delivered)
    return record.model_copy(update={"path": str(path)})
