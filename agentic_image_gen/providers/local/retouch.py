"""Retouching the cut-out product: light, colour, detail and edges, at output scale.

Each function takes straight sRGB in [0, 1] and the product's alpha, and changes only what its
vocabulary phrase promises. Tone curves are chosen to stay inside [0, 1] (a gamma for
exposure, a cubic S for contrast) so no step clips highlights that a later step would need.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.alpha import cleared, solid
from agentic_image_gen.pixels.arrays import FloatImage, channel_max, f32
from agentic_image_gen.pixels.similarity import linear, luminance, srgb
from agentic_image_gen.providers.local.vocabulary import StudioSettings

EXPOSURE_TARGET = 0.5  # median product tone after 'balanced exposure'
WARM = np.array([1.04, 1.0, 0.91], np.float32)
SHARPEN_AMOUNT, SHARPEN_THRESHOLD = 2.5, 0.012


def _with_luminance(rgb: FloatImage, old: FloatImage, new: FloatImage) -> FloatImage:
    """Scale colour by the luminance ratio: hue and saturation stay as they were. A pixel
    stops brightening where its strongest channel reaches white: clipping one channel of
    copper or coral would change its colour, not its light."""
    light = linear(rgb)  # a gain in linear light is what keeps chromaticity exactly
    gain = linear(np.clip(new, 0.0, 1.0)) / np.maximum(linear(old), 1e-6)
    ceiling = 1.0 / np.maximum(channel_max(light), 1e-6)
    return srgb(light * np.minimum(gain, np.maximum(ceiling, 1.0))[..., None])


def expose(rgb: FloatImage, alpha: FloatImage) -> FloatImage:
    """A gamma on lightness that brings the product's median tone to the target: unlike a
    gain, it cannot push highlights past white."""
    body = solid(alpha)
    median = float(np.median(luminance(rgb)[body])) if body.any() else EXPOSURE_TARGET
    median = min(max(median, 0.05), 0.95)
    gamma = float(np.clip(np.log(EXPOSURE_TARGET) / np.log(median), 0.4, 2.5))
    lum = luminance(rgb)
    return _with_luminance(rgb, lum, np.power(np.clip(lum, 0.0, 1.0), gamma))


def _s_curve(x: FloatImage, strength: float) -> FloatImage:
    """x + k·x(1-x)(2x-1): more (k > 0) or less (k < 0) mid-tone contrast, ends fixed."""
    return np.asarray(x + strength * x * (1 - x) * (2 * x - 1), dtype=np.float32)


def light(rgb: FloatImage, alpha: FloatImage, style: str) -> FloatImage:
    """Soft, even (diffused) or dramatic light, as a tone change on the product."""
    if style == "natural":
        return rgb
    lum = luminance(rgb)
    if style == "soft":
        return _with_luminance(rgb, lum, 0.03 + 0.94 * _s_curve(lum, -0.35))
    if style == "dramatic":
        return _with_luminance(rgb, lum, _s_curve(lum, 0.7))
    # even, diffused: soften large-scale light differences across the product by a third and
    # lift the deepest shadows, keeping the fine detail (facets, engraving) intact.
    body = solid(alpha)
    weight = cv2.GaussianBlur(f32(body), (0, 0), 12)
    base = cv2.GaussianBlur(lum * body, (0, 0), 12) / np.maximum(weight, 1e-3)
    mean = float(lum[body].mean()) if body.any() else 0.5
    evened = lum + (mean - base) * 0.3 * np.clip(weight * 2, 0, 1)
    lifted = 0.03 + 0.95 * _s_curve(np.clip(evened, 0.0, 1.0), -0.15)
    return _with_luminance(rgb, lum, lifted.astype(np.float32))


def warm(rgb: FloatImage, warmth: str) -> FloatImage:
    """Warm gold tones: a white-balance shift towards amber, brightness kept."""
    if warmth != "warm":
        return rgb
    lum = luminance(rgb)
    shifted = np.clip(rgb * WARM, 0.0, 1.0)
    return _with_luminance(shifted, luminance(shifted), lum)


def brilliance(rgb: FloatImage, alpha: FloatImage, upscale: float) -> FloatImage:
    """Clarity (large-radius local contrast) and brighter speculars: facets and stones pop.
    The radius is large so sensor grain is not what gets the contrast. No saturation boost:
    a coral or a garnet more vivid than it is would be a different stone."""
    lum = luminance(rgb)
    body = f32(solid(alpha))
    radius = 6.0 * max(1.0, upscale)
    weight = cv2.GaussianBlur(body, (0, 0), radius)
    local = cv2.GaussianBlur(lum * body, (0, 0), radius) / np.maximum(weight, 1e-3)
    clear = lum + 0.8 * (lum - local)
    lifted = clear + 0.5 * np.clip(clear - 0.7, 0.0, None) ** 1.5
    return _with_luminance(rgb, lum, np.clip(lifted, 0.0, 1.0).astype(np.float32))


def sharpen(rgb: FloatImage, upscale: float) -> FloatImage:
    """An unsharp mask sized to how much the shot was enlarged, with the usual threshold:
    differences smaller than sensor grain are left alone, so the grain is not amplified.
    Detail is sharpened on lightness, colours kept. (Denoising was tried and left out: on a
    soft photo it erases the same fine detail, engraving and milgrain, that sharpening is
    meant to bring back.)"""
    sigma = 1.0 + 0.5 * max(upscale - 1.0, 0.0)
    lum = luminance(rgb)
    detail = lum - cv2.GaussianBlur(lum, (0, 0), sigma)
    detail = np.sign(detail) * np.maximum(np.abs(detail) - SHARPEN_THRESHOLD, 0.0)
    # On lightness alone: colour fringes at facet edges would be colour the product lacks.
    return _with_luminance(rgb, lum, f32(np.clip(lum + SHARPEN_AMOUNT * detail, 0.0, 1.0)))


def clean_edges(
    rgb: FloatImage, alpha: FloatImage, upscale: float
) -> tuple[FloatImage, FloatImage]:
    """Choke the matte about a pixel and take edge colours from inside the product.

    A cut-out's rim carries the old table's colour (the halo); pulling the rim in and filling
    its colour from nearby solid product pixels (colour decontamination) removes it.
    """
    # Smooth the contour at the enlargement's scale, then set the edge back to a crisp ramp
    # about a pixel inside the old one.
    smooth = cv2.GaussianBlur(alpha, (0, 0), max(1.0, 1.0 * upscale))
    choked = np.clip((smooth - 0.6) * 3.0 + 0.5, 0.0, 1.0)
    choked = cleared(f32(choked))
    core = cv2.erode((alpha > 0.97).astype(np.float32), np.ones((5, 5), np.uint8))
    weight = cv2.GaussianBlur(core, (0, 0), 3)
    inside = (
        cv2.GaussianBlur(rgb * core[..., None], (0, 0), 3) / np.maximum(weight, 1e-4)[..., None]
    )
    keep = cv2.GaussianBlur(core, (0, 0), 1.0)[..., None]
    usable = (weight > 0.02)[..., None]
    cleaned = np.where(usable, rgb * keep + inside * (1 - keep), rgb)
    return np.clip(cleaned, 0.0, 1.0).astype(np.float32), choked


def retouch(
    rgb: FloatImage, alpha: FloatImage, settings: StudioSettings, upscale: float
) -> tuple[FloatImage, FloatImage]:
    """Every product-level step the settings ask for, in an order that keeps edges clean."""
    if settings.edges == "clean":
        rgb, alpha = clean_edges(rgb, alpha, upscale)
    rgb = warm(rgb, settings.warmth)
    if settings.exposure == "balanced":
        rgb = expose(rgb, alpha)
    rgb = light(rgb, alpha, settings.light)
    if settings.brilliance:
        rgb = brilliance(rgb, alpha, upscale)
    if settings.sharpen:
        rgb = sharpen(rgb, upscale)
    return rgb, alpha
