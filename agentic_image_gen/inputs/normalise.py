"""Bring any decoded image to what models see and what we measure: upright 8-bit sRGB.

A photo is stored in many ways that a plain ``convert("RGB")`` gets wrong, and each one made a
model judge (or the studio cut out) a different picture than the one a person sees:

- a phone photo's pixels lie on their side with an EXIF orientation tag: turned upright;
- 16-bit greyscale (PNG ``I;16``, TIFF) is clipped at 255 by ``convert``, so a whole photo
  became white: scaled to 8 bits instead (``I``/``F`` by their range, see ``_to_8_bit``);
- CMYK and pixels with an embedded ICC profile (Adobe RGB, Display P3, a printer's CMYK) are
  converted to sRGB through the profile (LittleCMS, ``PIL.ImageCms``); a profile that cannot
  be read is ignored, and CMYK without one is converted naively;
- an animated GIF, PNG or WebP is reduced to its first frame.

Pillow itself already reads 16-bit RGB and RGBA PNGs correctly as 8-bit, and PNG palettes
and greyscale are left as they are: only what needs a change is changed, so the common case
(an 8-bit sRGB PNG or JPEG) costs one tag lookup.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

if TYPE_CHECKING:  # LittleCMS and numpy load only for the images that need them
    from PIL.ImageCms import ImageCmsProfile

_ORIENTATION = 0x0112
_HIGH_BIT_DEPTH = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}
_KEPT_MODES = {"RGB", "RGBA", "L", "LA", "P", "1"}
# Pixels that went through a profile carry neither it nor a palette's transparency index.
_PROFILE_KEYS = ("icc_profile", "transparency")


def normalise(image: Image.Image) -> tuple[Image.Image, bool]:
    """``image`` upright, 8-bit, sRGB, one frame; and whether anything had to change."""
    changed = False
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
        image = image.copy()  # the first frame alone; later frames are never looked at
        changed = True
    if image.getexif().get(_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
        changed = True
    if image.mode in _HIGH_BIT_DEPTH:
        image = _to_8_bit(image)
        changed = True
    icc = image.info.get("icc_profile")
    if icc and not _is_srgb(icc):
        converted = _to_srgb(image, icc)
        if converted is not None:
            image, changed = converted, True
    if image.mode not in _KEPT_MODES:  # CMYK without a usable profile, YCbCr, LAB, PA...
        has_alpha = "A" in image.getbands()
        image = image.convert("RGBA" if has_alpha else "RGB")
        changed = True
    return image, changed


def _to_8_bit(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale to 8 bits by their range: ``I;16*`` divide by 257; ``I``
    likewise when its values fit 16 bits (and as they are when they fit 8), else scaled to
    its maximum; ``F`` in 0-1 is multiplied by 255, otherwise treated as ``I``."""
    import numpy as np

    values = np.asarray(image, dtype=np.float64)
    top = float(values.max()) if values.size else 0.0
    if image.mode.startswith("I;16"):
        scaled = values / 257.0
    elif image.mode == "F" and top <= 1.0:
        scaled = values * 255.0
    elif top <= 255.0:
        scaled = values
    elif top <= 65535.0:
        scaled = values / 257.0
    else:
        scaled = values * (255.0 / top)
    eight = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    result = Image.fromarray(eight)
    result.info = {k: v for k, v in image.info.items() if k != "icc_profile"}
    return result


@functools.cache
def _srgb() -> ImageCmsProfile:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _is_srgb(icc: bytes) -> bool:
    from PIL import ImageCms

    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return True  # unreadable: treated as no profile at all
    return "srgb" in description.lower()


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image | None:
    """Through the embedded profile to sRGB (alpha kept); None when LittleCMS refuses it."""
    from PIL import ImageCms

    has_alpha = "A" in image.getbands() or "transparency" in image.info
    source = image
    if image.mode in ("P", "PA", "1", "LA"):
        source = image.convert("RGBA" if has_alpha else "RGB")
    elif image.mode == "L" and has_alpha:
        source = image.convert("RGBA")
    output_mode = "RGBA" if has_alpha else "RGB"
    if source.mode == "RGBA":
        # LittleCMS converts the colour; the alpha channel is carried over unchanged.
        alpha = source.getchannel("A")
        source = source.convert("RGB")
    else:
        alpha = None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(source, profile, _srgb(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    if converted is None:
        return None
    if alpha is not None and output_mode == "RGBA":
        converted.putalpha(alpha)
    converted.info = {k: v for k, v in image.info.items() if k not in _PROFILE_KEYS}
    return converted
