"""A region-edit mask a person drew (a web page's canvas): checked like any other image input,
then given in the one form generators take (PNG, RGBA, the image's size)."""

from __future__ import annotations

import io

from PIL import Image

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.inputs.imaging import NotAnImage, decode_image

MAX_MASK_BYTES = 20 * 2**20
# Alpha below this is "change here"; at or above it, "keep" (a brush's soft edge counts as
# painted from half way).
TRANSPARENT_BELOW = 128


def edit_mask(data: bytes, size: tuple[int, int]) -> bytes:
    """``data`` as a PNG mask for an image of ``size`` (width, height): transparent where the
    region is to change, opaque elsewhere. Raises InputError (one line) when it is not an
    image, has another size, or marks nothing (CPU-bound: run it in a thread)."""
    if len(data) > MAX_MASK_BYTES:
        raise InputError(
            f"the mask is {len(data) / 2**20:.1f} MB; the limit is {MAX_MASK_BYTES // 2**20} MB"
        )
    try:
        decoded = decode_image(data)
    except NotAnImage as exc:
        raise InputError(f"the mask is {str(exc).removeprefix('image is ')}") from exc
    if (decoded.info.width, decoded.info.height) != size:
        raise InputError(
            f"the mask is {decoded.info.width}x{decoded.info.height} px; the image is "
            f"{size[0]}x{size[1]}: draw it over the image itself"
        )
    if not decoded.info.has_alpha:
        raise InputError("the mask has no transparency: the region to change must be transparent")
    alpha = decoded.pixels.convert("RGBA").getchannel("A")
    binary = alpha.point(lambda value: 0 if value < TRANSPARENT_BELOW else 255)
    if binary.getextrema()[0] != 0:
        raise InputError("the mask marks nothing to change: paint over the region to edit")
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.putalpha(binary)
    out = io.BytesIO()
    mask.save(out, "PNG")
    return out.getvalue()
