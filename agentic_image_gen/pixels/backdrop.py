"""The backdrop, seen in the frame's border band: its colour and one smooth model of it.

The border is assumed to show the backdrop. The model is the backdrop's colour row by row,
from the frame's left and right strips (which follows flat, graded and floor-and-wall
backdrops alike, a horizon included), plus a smooth quadratic surface fitted to what the
top and bottom bands still differ from it (a vignette or a glow across the frame): a studio
sweep is backdrop, however it is lit, and what departs from the model is product, shadow or
reflection.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32

BORDER = 0.03  # the band along the frame's edges that shows the backdrop (of the shorter side)
PLAIN = 0.03  # median distance of the top and bottom bands from the model: a plain backdrop
_SAMPLES = 20000  # border pixels the surface is fitted to (a sample: the fit is smooth)


def band_width(height: int, width: int) -> int:
    return max(4, round(BORDER * min(height, width)))


def border_band(height: int, width: int) -> Mask:
    band = band_width(height, width)
    mask = np.ones((height, width), bool)
    mask[band:-band, band:-band] = False
    return mask


def border_colour(rgb: FloatImage) -> FloatImage:
    """The backdrop's colour: the median of the border band."""
    return f32(np.median(rgb[border_band(*rgb.shape[:2])], axis=0))


def _terms(x: NDArray[np.float32], y: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=-1)


def backdrop_model(rgb: FloatImage) -> FloatImage:
    """The backdrop behind every pixel (H x W x 3): the row model plus the fitted surface."""
    height, width = rgb.shape[:2]
    band = band_width(height, width)
    edges = np.concatenate([rgb[:, :band], rgb[:, -band:]], axis=1)
    rows = f32(np.median(edges, axis=1))
    rows = f32(cv2.GaussianBlur(rows[:, None, :], (1, 0), sigmaX=0, sigmaY=3))[:, 0, :]
    ys, xs = np.nonzero(border_band(height, width))
    step = max(1, ys.size // _SAMPLES)
    ys, xs = ys[::step], xs[::step]
    residual = (rgb[ys, xs] - rows[ys]).astype(np.float64)
    terms = _terms(f32(xs / width), f32(ys / height)).astype(np.float64)
    coefficients = f32(np.linalg.lstsq(terms, residual, rcond=None)[0])  # 6 x 3
    x = f32(np.arange(width) / width)[None, :, None]
    y = f32(np.arange(height) / height)[:, None, None]
    c = coefficients
    surface = c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * y * y + c[5] * x * y
    return f32(np.clip(rows[:, None, :] + surface, 0.0, 1.0))


def plain(rgb: FloatImage, model: FloatImage) -> bool:
    """Whether the backdrop is a smooth surface the model describes (a studio sweep), not a
    scene: the top and bottom bands lie close to it."""
    band = band_width(*rgb.shape[:2])
    edge = np.concatenate([rgb[:band].reshape(-1, 3), rgb[-band:].reshape(-1, 3)])
    fit = np.concatenate([model[:band].reshape(-1, 3), model[-band:].reshape(-1, 3)])
    return float(np.median(np.abs(edge - fit).max(axis=1))) <= PLAIN
