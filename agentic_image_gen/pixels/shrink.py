"""A working copy of an image at most so many pixels on its longer side: the measures and the
refinement work at a bounded size, so their cost does not grow with the camera."""

from __future__ import annotations

import cv2

from agentic_image_gen.pixels.arrays import FloatImage, f32


def within(image: FloatImage, longest: int) -> tuple[FloatImage, float]:
    """(``image`` shrunk by area averaging so its longer side is at most ``longest``, the
    scale applied: 1.0 when it already fits, and then the image itself)."""
    height, width = image.shape[:2]
    scale = min(1.0, longest / max(height, width))
    if scale == 1.0:
        return image, scale
    size = (round(width * scale), round(height * scale))
    return f32(cv2.resize(image, size, interpolation=cv2.INTER_AREA)), scale
