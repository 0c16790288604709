"""The delivery step: a marketplace profile's final pass over the run's best image (the
pixel work is pixels/delivery.py), saved beside the run's images."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentic_image_gen.core.profiles import Profile
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import Delivery
from agentic_image_gen.pixels.delivery import deliver
from agentic_image_gen.store.run_store import RunStore


async def deliver_best(
    result: RunResult, store: RunStore, profile: Profile, output_format: str
) -> Delivery | None:
    """Conform the run's best image to ``profile`` and save it beside the run's images."""
    best = result.best()
    if best is None:
        return None
    data = await asyncio.to_thread(Path(best.image_path).read_bytes)
    delivered, record = await asyncio.to_thread(deliver, data, profile, output_format)
    path = await asyncio.to_thread(store.save_delivery, profile.name, record.format, delivered)
    return record.model_copy(update={"path": str(path)})
