"""Pillow helpers shared by references, providers and the run store.

All of these are CPU-bound; async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
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


def fit_within(data: bytes, max_side: int, *, flatten: bool, quality: int = 88) -> bytes:
    """Downscale so the longer side is at most ``max_side`` and re-encode compactly.

    ``flatten`` composites transparency over a light checkerboard and encodes JPEG, so a
    vision model sees that the background is transparent; otherwise alpha is kept as PNG.
    """
    with Image.open(io.BytesIO(data)) as source:
        image = source.convert("RGBA")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if flatten:
        board = checkerboard(image.width, image.height)
        board.alpha_composite(image)
        board.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    elif _has_transparency(image):
        image.save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _has_transparency(image: Image.Image) -> bool:
    lowest_alpha = image.getchannel("A").getextrema()[0]
    return isinstance(lowest_alpha, int) and lowest_alpha < 255


def checkerboard(width: int, height: int, cell: int = 16) -> Image.Image:
    """The usual 'this is transparent' pattern, in two light greys."""
    tile = Image.new("RGBA", (cell * 2, cell * 2), (236, 236, 236, 255))
    tile.paste((204, 204, 204, 255), (0, 0, cell, cell))
    tile.paste((204, 204, 204, 255), (cell, cell, cell * 2, cell * 2))
    board = Image.new("RGBA", (width, height))
    for top in range(0, height, cell * 2):
        for left in range(0, width, cell * 2):
            board.paste(tile, (left, top))
    return board


def data_url(data: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"
