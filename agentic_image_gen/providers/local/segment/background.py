"""How far each pixel is from the photo's backdrop, seen in the border band.

The border is assumed to show the backdrop. Distances are in units of the border's own
spread (Lab), so a textured linen or wood backdrop needs a larger step than a white sweep
before a pixel counts as different. Chroma and lightness are kept apart: darker pixels of
the backdrop's own colour are usually shadow, lighter or differently coloured ones product.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32
from agentic_image_gen.pixels.backdrop import border_band, border_colour
from agentic_image_gen.pixels.similarity import lab as lab_of
from agentic_image_gen.providers.local.segment.parameters import (
    OUTLIER,
    OUTLIERS,
    TEXTURED,
)


@dataclass(frozen=True)
class Difference:
    """Per-pixel distance from the backdrop, in border spreads."""

    chroma: FloatImage  # colour (a, b) distance
    lighter: FloatImage  # signed: positive where lighter than the backdrop
    delta_l: FloatImage  # signed lightness step from the backdrop, Lab units (0-100)
    offset: FloatImage  # H x W x 3: the signed (L, a, b) step, in border spreads
    backdrop_rgb: tuple[float, float, float]
    texture: float  # the backdrop's lightness spread (Lab): ~0 for a studio sweep, 5+ for cloth
    spread: tuple[float, float, float] = (1.0, 1.0, 1.0)  # Lab units per border spread (L, a, b)

    @property
    def textured(self) -> bool:
        """Cloth, wood or stone rather than a studio sweep."""
        return self.texture >= TEXTURED

    @property
    def darker(self) -> FloatImage:
        return f32(-self.lighter)

    @property
    def any(self) -> FloatImage:
        return f32(np.maximum(self.chroma, np.abs(self.lighter)))


def plainly_not_backdrop(values: FloatImage, samples: FloatImage) -> Mask:
    """Which ``values`` (... x 3, Lab) are farther than ``OUTLIER`` robust spreads from the
    border ``samples``' median in lightness or colour: a logo, a badge, a caption, a chain
    running off the frame; not the backdrop's own texture."""
    median = np.median(samples, axis=0)
    spread = 1.4826 * np.median(np.abs(samples - median), axis=0) + 1.0
    return np.asarray((np.abs(values - median) / spread > OUTLIER).any(axis=-1), bool)


def _backdrop_samples(samples: FloatImage) -> FloatImage:
    """The border's pixels without what is plainly not backdrop (a logo, a badge or a caption
    in a corner, or a chain running off the frame), so they move neither its colour nor its
    spread. Only when such pixels are rare (``OUTLIERS``): a backdrop's own lines (a wood's
    grain, a page's print) are many, and are its texture."""
    inliers = ~plainly_not_backdrop(samples, samples)
    return samples[inliers] if inliers.mean() >= 1.0 - OUTLIERS else samples


def difference(rgb: FloatImage) -> Difference:
    height, width = rgb.shape[:2]
    lab = lab_of(rgb)
    border = border_band(height, width)
    samples = _backdrop_samples(lab[border])
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    spread = std + 1.0
    offset = f32((lab - mean) / spread)
    chroma = np.hypot(offset[..., 1], offset[..., 2])
    lighter = offset[..., 0]
    colour = border_colour(rgb)
    backdrop = (float(colour[0]), float(colour[1]), float(colour[2]))
    delta_l = f32(lab[..., 0] - mean[0])
    units = (float(spread[0]), float(spread[1]), float(spread[2]))
    return Difference(f32(chroma), f32(lighter), delta_l, offset, backdrop, float(std[0]), units)


def local_backdrop(values: FloatImage, backdrop: Mask, size: int) -> FloatImage:
    """The backdrop's ``values`` (H x W, or H x W x C) around each pixel: blurred over
    ``backdrop`` pixels only (``size`` px square), so the product and its strands do not
    bleed in."""
    box = (size | 1, size | 1)
    weight = np.maximum(f32(cv2.blur(backdrop.astype(np.float32), box)), 1e-3)
    if values.ndim == 2:
        return f32(cv2.blur(f32(values * backdrop), box) / weight)
    return f32(cv2.blur(f32(values * backdrop[..., None]), box) / weight[..., None])
