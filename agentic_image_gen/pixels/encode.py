"""Pixels to a file's bytes in the asked format: one encoder for the studio's shots, the
locked product's composites and the delivered file."""

from __future__ import annotations

import functools
import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageCms

from agentic_image_gen.pixels.arrays import u8

QUALITY = 95  # JPEG and WebP quality where nothing asks for another


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile embedded in delivered files (made once, when first needed)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def to_bytes(pixels: NDArray[np.generic]) -> NDArray[np.uint8]:
    """8-bit pixels: floats in [0, 1] are rounded, bytes are kept."""
    if pixels.dtype == np.uint8:
        return np.asarray(pixels, np.uint8)
    return u8(np.round(np.clip(pixels, 0, 1) * 255))


def encode(
    pixels: NDArray[np.generic],
    fmt: str,
    quality: int = QUALITY,
    *,
    srgb: bool = False,
    quick: bool = False,
    full_chroma: bool = False,
) -> bytes:
    """``pixels`` (H x W x 3 or 4, bytes or floats in [0, 1]) as PNG, JPEG or WebP; JPEG
    drops an alpha channel. ``srgb`` embeds the sRGB profile (a delivered file says what it
    is); ``quick`` spends less effort compressing (a working image, made every round);
    ``full_chroma`` keeps a JPEG's colour at full resolution (4:4:4), not halved (4:2:0)."""
    data = to_bytes(pixels)
    image = Image.fromarray(data, "RGBA" if data.shape[2] == 4 else "RGB")
    extra: dict[str, object] = {"icc_profile": srgb_profile()} if srgb else {}
    out = io.BytesIO()
    if fmt == "jpeg":
        subsampling = 0 if full_chroma else -1  # -1: Pillow's default for the quality
        image.convert("RGB").save(out, "JPEG", quality=quality, subsampling=subsampling, **extra)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=quality, method=2 if quick else 4, **extra)
    else:
        image.save(out, "PNG", compress_level=3 if quick else 6, **extra)
    return out.getvalue()
