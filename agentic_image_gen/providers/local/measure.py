"""Measurements the technical evaluator scores: plain numbers taken from the pixels.

Nothing here knows about bands or weights; each function returns what it measured. The
image is decoded, and the product found, by pixels/ (its alpha channel when the image has
real transparency, else what differs from the fitted backdrop); shadows and reflections are
faint by design, so the product's body leaves them out.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from agentic_image_gen.pixels.alpha import CLEAR, solid
from agentic_image_gen.pixels.arrays import ByteImage, FloatImage, Mask, f32
from agentic_image_gen.pixels.backdrop import border_band
from agentic_image_gen.pixels.boxes import box
from agentic_image_gen.pixels.decode import Decoded
from agentic_image_gen.pixels.similarity import lab, luminance

ANALYSIS_SIDE = 512  # sparkle and similarity see the product at this size, whatever its own
HALO_REACH = 8  # pixels past the solid edge where a halo is looked for
OFF_COLOUR = 20.0  # Lab distance from the expected colour that marks a rim pixel as foreign
SOFT_EDGE = 0.006  # a soft matte edge may reach this far (fraction of the frame) past the solid


def product_crop(image: Decoded, mask: Mask) -> tuple[FloatImage, Mask]:
    """The product's box resized so its longer side is ANALYSIS_SIDE: scale-free measures."""
    found = box(mask)
    assert found is not None
    left, top, right, bottom = found
    scale = ANALYSIS_SIDE / max(right - left, bottom - top)
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    rgb = f32(cv2.resize(image.rgb[top:bottom, left:right], size, interpolation=method))
    crop_mask = cv2.resize(mask[top:bottom, left:right].astype(np.uint8), size) > 0
    return rgb, crop_mask


def sharpness(rgb: FloatImage, mask: Mask) -> float:
    """Variance of the Laplacian inside the product, grey levels 0-255, at the image's own
    pixels: what a shopper zooming to 100% sees, so an enlarged soft photo reads as soft.

    The outline is left out: its contrast depends on the backdrop, not on focus."""
    grey = luminance(rgb) * 255
    laplacian = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    inside = cv2.erode(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    return float(laplacian[inside].var()) if inside.any() else 0.0


def local_contrast(rgb: FloatImage, mask: Mask) -> float:
    """Mean |lightness - its local average| over the product: what reads as sparkle."""
    grey = luminance(rgb)
    weight = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 8)
    local = cv2.GaussianBlur(grey * mask, (0, 0), 8) / np.maximum(weight, 1e-3)
    solid = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return float(np.abs(grey - local)[solid].mean()) if solid.any() else 0.0


def tones(rgb: FloatImage, mask: Mask) -> tuple[float, float, float]:
    """(median, clipped fraction, crushed fraction) of the product's luminance."""
    lum = luminance(rgb)[mask]
    if lum.size == 0:
        return 0.0, 0.0, 0.0
    return float(np.median(lum)), float((lum >= 0.985).mean()), float((lum <= 0.02).mean())


def _inside_colour(colours: FloatImage, solid: ByteImage) -> tuple[FloatImage, FloatImage]:
    """The product's own colour near each pixel (from pixels 3+ px inside), and its weight."""
    core = f32(cv2.erode(solid, np.ones((7, 7), np.uint8)))
    weight = f32(cv2.GaussianBlur(core, (0, 0), 3))
    colour = f32(cv2.GaussianBlur(colours * core[..., None], (0, 0), 3))
    return f32(colour / np.maximum(weight, 1e-4)[..., None]), weight


def halo(image: Decoded, mask: Mask) -> float:
    """The halo's width in pixels: how wide the band around the cut-out is that is neither
    product nor backdrop, per pixel of outline (a crisp, clean edge is about 1 px).

    A pixel of that band is a blend of the product's own colour and the backdrop's (a soft,
    smeared edge), or a colour off that blend: the photo's old background left on the rim.
    With transparency the blend is the alpha ramp, and an opaque rim pixel is off when its
    colour departs from the product's nearby colour.
    """
    body = solid(image.alpha) if image.alpha is not None else mask
    solid_u8 = body.astype(np.uint8)
    outline = int((body & ~(cv2.erode(solid_u8, np.ones((3, 3), np.uint8)) > 0)).sum())
    if outline == 0:
        return 0.0
    colours = lab(image.rgb)
    inside, weight = _inside_colour(colours, solid_u8)
    reach = np.ones((2 * HALO_REACH + 1, 2 * HALO_REACH + 1), np.uint8)
    band = (cv2.dilate(solid_u8, reach) > 0) & ~(
        cv2.erode(solid_u8, np.ones((11, 11), np.uint8)) > 0
    )
    band &= weight > CLEAR
    if image.alpha is not None:
        blended = (image.alpha > 0.05) & (image.alpha < 0.95)
        off = (image.alpha >= 0.95) & (np.linalg.norm(colours - inside, axis=2) > OFF_COLOUR)
    else:
        span = lab(image.backdrop) - inside
        length = np.maximum((span**2).sum(axis=2), 1e-3)
        t = np.clip(((colours - inside) * span).sum(axis=2) / length, 0.0, 1.0)
        residual = np.linalg.norm(colours - (inside + t[..., None] * span), axis=2)
        blended = (t > 0.15) & (t < 0.85) & (length > 100.0)
        off = residual > OFF_COLOUR
    return float((band & (blended | off)).sum() / outline)


def backdrop_stats(image: Decoded, mask: Mask) -> tuple[float, float, float, float]:
    """(mean luminance, flatness, cast, grain) of the backdrop seen in the border band.

    Flatness is the luminance spread after removing the row-wise trend a gradient has;
    cast is the largest difference between colour channel means; grain is the spread of the
    Laplacian (texture, noise, a table's mottling).
    """
    height, width = mask.shape
    band = border_band(height, width) & ~cv2.dilate(
        mask.astype(np.uint8), np.ones((15, 15), np.uint8)
    ).astype(bool)
    if not band.any():
        return 0.0, 1.0, 1.0, 1.0
    pixels = image.rgb[band]
    lum = luminance(image.rgb)
    trend = luminance(image.backdrop)
    flatness = float((lum - trend)[band].std())
    means = pixels.mean(axis=0)
    grain = float(np.abs(cv2.Laplacian(lum, cv2.CV_32F, ksize=3))[band].mean())
    return float(lum[band].mean()), flatness, float(means.max() - means.min()), grain


def stray_alpha(image: Decoded, mask: Mask) -> float:
    """Fraction of the frame outside the product (and its soft rim) that is not fully clear."""
    if image.alpha is None:
        return 1.0
    reach = 2 * max(4, round(SOFT_EDGE * min(mask.shape))) + 1
    near = cv2.dilate(mask.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    outside = ~near
    return float((image.alpha[outside] > 0).mean()) if outside.any() else 0.0


def colour_signature(rgb: FloatImage, mask: Mask) -> NDArray[np.float32]:
    """What colours the product is made of, blind to exposure and to a small hue shift.

    A hue histogram (12 bins, smoothed around the circle so warming gold a little does not
    move it to another bin) of the coloured pixels, plus one bin for the neutral ones (metal,
    white stones), normalised to sum to 1. Very dark pixels carry no colour and are left out.
    """
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    usable = mask & (hsv[..., 2] > 0.12)
    coloured = usable & (hsv[..., 1] > 0.15)
    hues = np.histogram(hsv[..., 0][coloured], bins=12, range=(0, 360))[0].astype(np.float32)
    hues = 0.5 * hues + 0.25 * np.roll(hues, 1) + 0.25 * np.roll(hues, -1)
    signature = np.append(hues, float((usable & ~coloured).sum()))
    total = float(signature.sum())
    return (signature / total if total else signature).astype(np.float32)


def similarity(
    output: tuple[FloatImage, Mask], reference: tuple[FloatImage, Mask]
) -> tuple[float, float]:
    """(colour correlation, shape agreement) of the product in the output and the reference."""
    a, b = colour_signature(*output), colour_signature(*reference)
    colour = float(np.minimum(a, b).sum())  # histogram intersection: 1 = same colours
    box_a, box_b = box(output[1]), box(reference[1])
    if box_a is None or box_b is None:
        return colour, 0.0
    aspect_a = (box_a[2] - box_a[0]) / (box_a[3] - box_a[1])
    aspect_b = (box_b[2] - box_b[0]) / (box_b[3] - box_b[1])
    return colour, float(min(aspect_a, aspect_b) / max(aspect_a, aspect_b))
