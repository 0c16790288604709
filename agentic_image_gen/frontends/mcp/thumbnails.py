"""Small JPEG previews for tool results: an agent host caps a tool result at about 25,000
tokens, so a result carries a preview and links to the full files, never the image itself."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

# The longer side of the one preview of a result; review candidates are smaller, several
# of them fit where one result preview does.
PREVIEW_SIDE = 512
CANDIDATE_SIDE = 256
# A preview's bytes stay under this (base64 in JSON adds a third).
MAX_PREVIEW_BYTES = 64_000
_QUALITIES = (85, 75, 60, 45)
# Transparent pixels are shown on white: JPEG has no alpha, and a shop's page is white.
_BACKDROP = (255, 255, 255)


def thumbnail(path: Path, side: int = PREVIEW_SIDE, max_bytes: int = MAX_PREVIEW_BYTES) -> bytes:
    """A JPEG of ``path`` at most ``side`` px on its longer side and under ``max_bytes``
    (lower quality first, then a smaller size, until it fits)."""
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        flat = _flattened(image)
    while True:
        for quality in _QUALITIES:
            out = io.BytesIO()
            flat.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        flat = flat.resize((max(1, flat.width * 3 // 4), max(1, flat.height * 3 // 4)))


def _flattened(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGB", rgba.size, _BACKDROP)
        backdrop.paste(rgba, mask=rgba.getchannel("A"))
        return backdrop
    return image.convert("RGB")
