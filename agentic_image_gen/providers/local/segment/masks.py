"""Connected pieces of a mask: the few operations every refinement step counts with."""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import Mask, u8


def components(mask: Mask) -> tuple[int, np.ndarray, np.ndarray]:
    """(count including the background label 0, labels, stats), 8-connected."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(u8(mask), connectivity=8)
    return count, labels, stats


def drop_specks(hard: Mask) -> Mask:
    """Keep the product's pieces: components at least 3% the size of the largest."""
    count, labels, stats = components(hard)
    if count <= 1:
        return hard
    areas = stats[1:, cv2.CC_STAT_AREA]
    return np.isin(labels, 1 + np.flatnonzero(areas >= 0.03 * areas.max()))
