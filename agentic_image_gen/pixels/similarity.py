"""Colour and similarity measures, from scikit-image where it has them: luminance, Lab,
structural similarity (SSIM) and CIE76 colour difference."""

from __future__ import annotations

import cv2
import numpy as np
from skimage.color import deltaE_cie76
from skimage.metrics import structural_similarity

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32

REC709 = np.array([0.2126, 0.7152, 0.0722], np.float32)
SSIM_SIGMA = 1.5  # the Gaussian window of Wang et al. (2004)


def luminance(rgb: FloatImage) -> FloatImage:
    return f32(rgb @ REC709)


def lab(rgb: FloatImage) -> FloatImage:
    """CIE Lab (D65) of sRGB floats in [0, 1]: L 0-100, a and b about -128..127."""
    return f32(cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab))


def ssim(first: FloatImage, second: FloatImage, weight: FloatImage) -> float:
    """Structural similarity of two grey images in [0, 1], averaged over ``weight``
    (1 is identical detail and shading; 0 when the weight is empty)."""
    _, local = structural_similarity(
        first,
        second,
        data_range=1.0,
        gaussian_weights=True,
        sigma=SSIM_SIGMA,
        use_sample_covariance=False,
        full=True,
    )
    total = float(weight.sum())
    return float((local * weight).sum() / total) if total else 0.0


def delta_e(first: FloatImage, second: FloatImage, where: Mask) -> float | None:
    """Mean CIE76 colour difference of two sRGB images over ``where`` (about 2 is just
    noticeable); None when ``where`` is empty."""
    if not where.any():
        return None
    return float(deltaE_cie76(lab(first)[where], lab(second)[where]).mean())
