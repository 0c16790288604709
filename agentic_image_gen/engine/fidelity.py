"""The fidelity step: every image of a run measured against its first reference's cut-out
(the measure is pixels/fidelity.py; where the product is comes from the image, a locked
placement, or, on a busy scene, the run's segmenter)."""

from __future__ import annotations

import asyncio
import contextlib

from agentic_image_gen.core.types import Fidelity, ReferenceImage
from agentic_image_gen.pixels.arrays import FloatImage
from agentic_image_gen.pixels.fidelity import measure, of_image, placed_alpha
from agentic_image_gen.providers.base import ProductCut, ProductCutter


class FidelityMeter:
    """Measures every image of a run against its first reference's cut-out (made once, by
    the run's segmenter). A measurement that cannot be made is None, never a failed run."""

    def __init__(self, cutter: ProductCutter | None, references: tuple[ReferenceImage, ...]):
        self._cutter = cutter
        self._reference = references[0] if references else None
        self._cut: asyncio.Task[ProductCut] | None = None
        self._placed: tuple[bytes, FloatImage] | None = None  # a locked canvas and its alpha, once

    async def reference_cut(self) -> ProductCut | None:
        if self._cutter is None or self._reference is None:
            return None
        if self._cut is None:
            self._cut = asyncio.ensure_future(self._cutter.cut(self._reference))
        with contextlib.suppress(Exception):
            return await asyncio.shield(self._cut)
        return None

    async def _placed_alpha(self, placed: bytes) -> FloatImage:
        if self._placed is None or self._placed[0] is not placed:
            self._placed = (placed, await asyncio.to_thread(placed_alpha, placed))
        return self._placed[1]

    async def measure(self, data: bytes, placed: bytes | None = None) -> Fidelity | None:
        """``placed``: a PNG whose alpha is where the product was put (a locked scene)."""
        cut = await self.reference_cut()
        if cut is None:
            return None
        with contextlib.suppress(Exception):
            where = None if placed is None else await self._placed_alpha(placed)
            figure = await asyncio.to_thread(of_image, data, cut.rgb, cut.alpha, where)
            if figure is not None or self._cutter is None:
                return figure
            # A busy scene: the run's segmenter finds the product in the image itself.
            found = await self._cutter.cut(ReferenceImage("image", data, "image/png", 0, 0))
            return await asyncio.to_thread(measure, cut.rgb, cut.alpha, found.rgb, found.alpha)
        return None
