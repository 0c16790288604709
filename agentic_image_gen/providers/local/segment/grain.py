"""A wooden backdrop's grain: straight dark lines that look like a cord to every local test.

Wood (and brushed metal, ribbed cloth) has one dominant direction: the structure tensor of
the backdrop's lightness, away from the product, is coherent. A straight strand candidate
that runs along that direction is the grain, not a product part; a neck wire or a cord
curves, or crosses the grain at an angle, and stays. Linen, flowers and marble have no
dominant direction, so nothing is dropped there.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.providers.local.segment.masks import components
from agentic_image_gen.providers.local.segment.parameters import (
    ALONG,
    COHERENT,
    STRAIGHT,
)
from agentic_image_gen.providers.local.segment.parameters import (
    GRAIN_CLEAR as CLEAR,
)


@dataclass(frozen=True)
class Grain:
    angle: float  # degrees in [0, 180): the direction the backdrop's lines run
    coherence: float  # 0 (no direction) to 1 (every line parallel)

    @property
    def present(self) -> bool:
        return self.coherence >= COHERENT


def grain_of(lightness: FloatImage, product: Mask) -> Grain:
    """The backdrop's dominant line direction and how dominant it is."""
    smooth = f32(cv2.GaussianBlur(lightness, (0, 0), 1.5))
    gx = f32(cv2.Sobel(smooth, cv2.CV_32F, 1, 0))
    gy = f32(cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    band = max(3, round(CLEAR * max(product.shape))) | 1
    backdrop = ~(cv2.dilate(u8(product), np.ones((band, band), np.uint8)) > 0)
    if not backdrop.any():
        return Grain(0.0, 0.0)
    xx, yy, xy = (float(v[backdrop].mean()) for v in (gx * gx, gy * gy, gx * gy))
    energy = xx + yy
    if energy <= 1e-9:
        return Grain(0.0, 0.0)
    coherence = float(np.hypot(xx - yy, 2 * xy) / energy)
    # The gradient's mean direction is across the lines; the lines run at right angles.
    angle = (0.5 * float(np.degrees(np.arctan2(2 * xy, xx - yy))) + 90.0) % 180.0
    return Grain(angle, coherence)


def along_grain(pieces: Mask, grain: Grain) -> Mask:
    """The pieces that are straight lines (their pixels close to their main axis) running
    with the grain."""
    found = np.zeros_like(pieces)
    if not grain.present:
        return found
    count, labels, _ = components(pieces)
    for label in range(1, count):
        ys, xs = np.nonzero(labels == label)
        if ys.size < 3:
            continue
        values, vectors = np.linalg.eigh(np.cov(np.vstack([xs, ys]).astype(np.float64)))
        if np.sqrt(max(values[0], 0.0)) > STRAIGHT * max(pieces.shape):
            continue  # it bends: a chain or a wire hanging, not a crack in the wood
        angle = float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))) % 180.0
        off = abs(angle - grain.angle) % 180.0
        if min(off, 180.0 - off) <= ALONG:
            found |= labels == label
    return found
