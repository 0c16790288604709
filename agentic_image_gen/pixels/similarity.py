"""Colour and similarity measures, from scikit-image where it has them: luminance, Lab,
structural similarity (SSIM) and CIE76 colour difference, whole and split into lightness
(what an exposure move may change) and colour at matched lightness (what it must not)."""

from __future__ import annotations

import cv2
import numpy as np

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
    # Imported here: every user of lab() imports this module, and most never need
    # scikit-image's 0.3 s of imports.
    from skimage.metrics import structural_similarity

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
    from skimage.color import deltaE_cie76  # imported here, as in ssim

    return float(deltaE_cie76(lab(first)[where], lab(second)[where]).mean())


def linear(rgb: FloatImage) -> FloatImage:
    """sRGB floats to linear light."""
    return f32(np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4))


def srgb(light: FloatImage) -> FloatImage:
    """Linear light to sRGB floats."""
    light = np.clip(light, 0.0, 1.0)
    return f32(np.where(light <= 0.0031308, light * 12.92, 1.055 * light ** (1 / 2.4) - 0.055))


MAX_GAIN = 16.0
COLOUR_SIGMA = 1.0  # a pixel re-exposed further than this is too dark to carry colour anyway


def relit(rgb: FloatImage, like: FloatImage) -> FloatImage:
    """``rgb`` given ``like``'s luminance pixel by pixel, by a gain in linear light: what an
    exposure change makes of it, with its chromaticity (hue and saturation) kept."""
    light = linear(rgb)
    ratio = (linear(like) @ REC709) / np.maximum(light @ REC709, 1e-5)
    return srgb(light * np.clip(ratio, 0.0, MAX_GAIN)[..., None])


def colour_parts(first: FloatImage, second: FloatImage, where: Mask) -> tuple[float, float] | None:
    """(mean ΔL*, mean Δa*b*) of ``second`` against ``first`` over ``where``: ΔL* signed
    (positive: lighter), Δa*b* measured after ``first`` is re-exposed to ``second``'s
    lightness, so an exposure or light move reads as 0 there and a white-balance, hue or
    saturation change does not (about 2-3 is just noticeable); None when ``where`` is empty."""
    if not where.any():
        return None
    # Resampling and sensor grain put chroma noise in every pixel: compared a little blurred.
    first, second = (f32(cv2.GaussianBlur(rgb, (0, 0), COLOUR_SIGMA)) for rgb in (first, second))
    lab_first, lab_second = lab(first)[where], lab(second)[where]
    lab_matched = lab(relit(first, second))[where]
    lightness = float((lab_second[:, 0] - lab_first[:, 0]).mean())
    ab = np.hypot(*(lab_second[:, 1:] - lab_matched[:, 1:]).T)
    return lightness, float(ab.mean())


def _chromaticity(rgb: FloatImage, mask: Mask) -> tuple[FloatImage, float]:
    """The mean chromaticity of the product's pixels (each pixel's linear colour at unit
    luminance, every pixel counting once, so a per-pixel gain leaves it unchanged) and
    their mean luminance. Blown highlights (white) and near-black carry no colour."""
    light = linear(rgb[mask])
    y = light @ REC709
    usable = (y > 0.003) & (rgb[mask].min(axis=1) < 0.985)
    if not usable.any():
        return np.zeros(3, np.float32), 0.0
    return f32((light[usable] / y[usable, None]).mean(axis=0)), float(y[usable].mean())


def colour_shift(
    first: FloatImage, first_mask: Mask, second: FloatImage, second_mask: Mask
) -> float:
    """Δa*b* between two products' mean chromaticities, both shown at the second's mean
    luminance: how far the colour drifted whatever the pose and the exposure (no pixel
    alignment needed; an exposure, light or contrast move reads as about 0)."""
    base, _ = _chromaticity(first, first_mask)
    other, y = _chromaticity(second, second_mask)
    pair = lab(srgb(f32(np.stack([base * y, other * y])[None])))[0]
    return float(np.hypot(*(pair[1, 1:] - pair[0, 1:])))
