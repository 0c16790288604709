"""The no-model fall-back: GrabCut seeded from the photo's border colour.

GrabCut runs on a copy at most ``WORK_SIDE`` pixels on its longer side (its cost grows with
the pixel count), seeded from the photo itself: the border is background, pixels whose
colour is far from the border's are probably product. It finds compact products on plain
backdrops; thin chains, hooks and rings' insides are refine.py's job, as for any model.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from agentic_image_gen.core.errors import UnusableReference
from agentic_image_gen.pixels.arrays import FloatImage, f32, u8
from agentic_image_gen.pixels.backdrop import border_band
from agentic_image_gen.pixels.shrink import within
from agentic_image_gen.providers.local.segment.background import difference
from agentic_image_gen.providers.local.segment.parameters import (
    CLASSICAL_SIDE as WORK_SIDE,
)


def _seeds(small: FloatImage) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """GrabCut's starting labels, and which pixels look like shadow on the table.

    Darker pixels of the border's own colour are shadows, the usual false product: they
    stay probable background.
    """
    diff = difference(small)
    score = np.maximum(diff.chroma, diff.lighter)
    mask = np.full(score.shape, cv2.GC_PR_BGD, np.uint8)
    mask[score > 4.0] = cv2.GC_PR_FGD
    sure = cv2.erode((score > 10.0).astype(np.uint8), np.ones((3, 3), np.uint8))
    mask[sure > 0] = cv2.GC_FGD
    mask[border_band(*score.shape)] = cv2.GC_BGD
    return mask, (diff.chroma < 3.0) & (diff.lighter < 0.0)


def _clean(mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Drop specks and small islands; keep the product's parts (a stone, a loose charm)."""
    opened = u8(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if count <= 1:
        return opened
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= 0.05 * areas.max())
    return np.isin(labels, keep).astype(np.uint8)


class ClassicalSegmenter:
    """GrabCut: no weights, no download; a hard mask upsampled to the photo's size."""

    name = "classical"
    coarse = True  # GrabCut at a small side, upsampled

    def segment(self, rgb: FloatImage) -> FloatImage:
        height, width = rgb.shape[:2]
        small, _ = within(rgb, WORK_SIDE)
        mask, shadow_like = _seeds(small)
        seeded = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
        if not seeded.any():
            raise UnusableReference(
                "the reference photo shows nothing that stands out from its border"
            )
        background_model = np.zeros((1, 65), np.float64)
        foreground_model = np.zeros((1, 65), np.float64)
        work = (small * 255).astype(np.uint8)
        cv2.grabCut(  # type: ignore[call-overload]  # the stubs do not allow rect=None
            work, mask, None, background_model, foreground_model, 4, cv2.GC_INIT_WITH_MASK
        )
        found = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
        # A colourful product (gold, gems) never has table-coloured darks: those are its shadow.
        # A neutral one (silver on grey) might, so there GrabCut's answer stands.
        if (seeded & ~shadow_like).sum() > 0.6 * max(1, int(found.sum())):
            found &= ~shadow_like
        hard = _clean(found.astype(np.uint8))
        return f32(cv2.resize(hard.astype(np.float32), (width, height)))
