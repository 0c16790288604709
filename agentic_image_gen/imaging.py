"""Pillow helpers shared by references, providers and the run store.

All of these are CPU-bound; async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import functools
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Pillow's decompression-bomb guard is on by default (a warning past ~89 Mpx, an error past
# twice that). We turn the warning into a refusal too: no reference or output needs that much.
Image.MAX_IMAGE_PIXELS = 64_000_000

MIME_BY_FORMAT = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}


class NotAnImage(ValueError):
    """The bytes do not decode to a whole, supported image."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    has_alpha: bool

    @property
    def mime_type(self) -> str:
        return MIME_BY_FORMAT.get(self.format, "application/octet-stream")


def inspect_image(data: bytes) -> ImageInfo:
    """Decode the whole image (not just its header) so truncated files are caught here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format or ""
                image.load()
                has_alpha = image.mode in ("RGBA", "LA", "PA") or (
                    image.mode == "P" and "transparency" in image.info
                )
                return ImageInfo(image_format, image.width, image.height, has_alpha)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NotAnImage(f"image is too large to decode safely ({exc})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(f"not a readable image ({exc})") from exc


def vision_copy(data: bytes, short_side: int, long_side: int, quality: int = 85) -> bytes:
    """A JPEG copy for a vision model, at most ``short_side`` x ``long_side`` px, with any
    transparency drawn over a light checkerboard (vision models see no alpha channel)."""
    with Image.open(io.BytesIO(data)) as source:
        image = source.convert("RGBA")
    board = checkerboard(image.width, image.height)
    board.alpha_composite(image)
    flat = board.convert("RGB")
    scale = min(1.0, short_side / min(flat.size), long_side / max(flat.size))
    if scale < 1.0:
        size = (max(1, round(flat.width * scale)), max(1, round(flat.height * scale)))
        flat = flat.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=quality)
    return out.getvalue()


def checkerboard(width: int, height: int, cell: int = 16) -> Image.Image:
    """The usual 'this is transparent' pattern, in two light greys."""
    return _checkerboard(width, height, cell).copy()


@functools.lru_cache(maxsize=8)
def _checkerboard(width: int, height: int, cell: int) -> Image.Image:
    columns, rows = -(-width // cell), -(-height // cell)
    cells = Image.new("L", (columns, rows))
    cells.putdata([204 if (x + y) % 2 == 0 else 236 for y in range(rows) for x in range(columns)])
    board = cells.resize((columns * cell, rows * cell), Image.Resampling.NEAREST)
    return board.crop((0, 0, width, height)).convert("RGBA")


def data_url(data: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"
