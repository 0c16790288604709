"""The product's box: one helper (OpenCV's ``boundingRect``) for every caller, and the
framing figures taken from it."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from agentic_image_gen.pixels.alpha import SOLID

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive), in pixels


def box(values: NDArray[Any], above: float = SOLID) -> Box | None:
    """The box of a mask's true pixels, or of an alpha or weight map's pixels over ``above``
    (the product's body by default); None when there are none."""
    points = values if values.dtype == np.bool_ else values > above
    left, top, width, height = cv2.boundingRect(points.astype(np.uint8))
    if width == 0 or height == 0:
        return None
    return left, top, left + width, top + height


def fill(found: Box | None, shape: tuple[int, ...]) -> float:
    """The box's larger side as a fraction of the frame's matching side (0 with no box)."""
    if found is None:
        return 0.0
    height, width = shape[:2]
    return float(max((found[2] - found[0]) / width, (found[3] - found[1]) / height))


def framing(mask: NDArray[Any]) -> tuple[float, float]:
    """(fill, off-centre): the box's fill and its centre's largest offset from the frame's."""
    found = box(mask)
    if found is None:
        return 0.0, 0.5
    left, top, right, bottom = found
    height, width = mask.shape[:2]
    offset = max(abs((left + right) / 2 / width - 0.5), abs((top + bottom) / 2 / height - 0.5))
    return fill(found, mask.shape), float(offset)
