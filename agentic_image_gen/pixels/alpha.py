"""What an alpha value means, named once for every step that reads a cut-out or a file's
transparency (the cut-out, the studio, the lock, the measurements, delivery)."""

from __future__ import annotations

import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask

SOLID = 0.5  # at least this opaque is the product's body: its box, silhouette and footprint
CLEAR = 0.02  # softer than this is noise, not edge: it is made (or counted as) fully clear
OPAQUE = 0.98  # a channel whose every pixel is at least this opaque says nothing: an opaque image


def uses_alpha(alpha: FloatImage | None) -> bool:
    """Whether an alpha channel really is transparency (then it says where the product is)."""
    return alpha is not None and float(alpha.min()) < OPAQUE


def solid(alpha: FloatImage) -> Mask:
    return np.asarray(alpha > SOLID)


def cleared(alpha: FloatImage) -> FloatImage:
    """``alpha`` with the noise below ``CLEAR`` made exactly 0."""
    return np.where(alpha < CLEAR, np.float32(0), alpha).astype(np.float32)


def uncropped(alpha: FloatImage, origin: tuple[int, int], size: tuple[int, int]) -> FloatImage:
    """A cropped alpha (a cut-out's) put back at ``origin`` on a clear frame of ``size``
    (width, height)."""
    width, height = size
    frame = np.zeros((height, width), np.float32)
    x, y = origin
    part = alpha[: max(0, height - y), : max(0, width - x)]
    frame[y : y + part.shape[0], x : x + part.shape[1]] = part
    return frame
