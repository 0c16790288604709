"""Pillow helpers shared by references, providers and the run store.

All of these are CPU-bound; async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import math
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from agentic_image_gen.inputs.normalise import normalise

# The one pixel limit (README, "Reference images"): a medium-format camera's 150-200 MP photo
# is a reference, beyond that a decompression bomb. Checked per image from its header, before
# any pixel is decoded, in our own words. Pillow's own guard (a warning past ~89 MP, an error
# past twice that) would refuse a 100 MP photo in its words: it is lifted for the one call
# that reads a header, and Pillow's process-wide limit stays what the host program set.
MAX_PIXELS = 200_000_000
_PILLOW_LIMIT = threading.Lock()

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


@dataclass(frozen=True)
class Decoded:
    """``pixels`` are normalised (upright, 8-bit, sRGB, first frame: see normalise.py);
    ``normalised`` says whether that changed them, i.e. whether the bytes alone would show
    something else to a model than ``pixels`` do; ``info`` describes ``pixels``, and
    ``stored`` is the size the file itself holds (larger when decoded at reduced scale)."""

    info: ImageInfo
    pixels: Image.Image
    normalised: bool = False
    stored: tuple[int, int] = (0, 0)


class TooLarge(NotAnImage):
    """More pixels than MAX_PIXELS: refused from the header, nothing decoded."""


def decode_image(data: bytes, fit: int | None = None) -> Decoded:
    """Decode the whole image (not just its header) so truncated files are caught here, and
    normalise it once; the pixels are kept so later steps (the evaluator's copy) need not
    decode again. ``fit``: the longer side the caller needs at most; a larger JPEG is then
    decoded at a reduced DCT scale (draft mode: 1/2 to 1/8, never below ``fit``), several
    times faster and smaller in memory than at full size."""
    try:
        opened = _open(data)
        image_format, stored = opened.format or "", opened.size
        if opened.width * opened.height > MAX_PIXELS:
            raise TooLarge(
                f"image is {opened.width}x{opened.height} px ({_megapixels(stored)}); the "
                f"limit is {MAX_PIXELS / 1e6:g} MP"
            )
        reduced = False
        if fit is not None and image_format == "JPEG" and max(stored) > fit:
            scale = fit / max(stored)
            opened.draft(None, (math.ceil(opened.width * scale), math.ceil(opened.height * scale)))
            reduced = opened.size != stored
        opened.load()
        image, changed = normalise(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, NotAnImage):
            raise
        raise NotAnImage(f"not a readable image ({exc})") from exc
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    info = ImageInfo(image_format, image.width, image.height, has_alpha)
    return Decoded(info, image, changed or reduced, stored)


def _megapixels(size: tuple[int, int]) -> str:
    return f"{size[0] * size[1] / 1e6:.0f} MP"


def _open(data: bytes) -> Image.Image:
    """The image's header, read past Pillow's own bomb guard (ours is MAX_PIXELS)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            pass
        with _lifted_pillow_limit():
            return Image.open(io.BytesIO(data))


@contextlib.contextmanager
def _lifted_pillow_limit() -> Iterator[None]:
    """Pillow's limit off for one header read (only for images past twice Pillow's limit),
    then put back as it was: another thread's read meanwhile is the only one it affects."""
    with _PILLOW_LIMIT:
        before = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = before


def inspect_image(data: bytes) -> ImageInfo:
    return decode_image(data).info


def vision_copy(
    source: bytes | Image.Image, short_side: int, long_side: int, quality: int = 85
) -> bytes:
    """A JPEG copy for a vision model, at most ``short_side`` x ``long_side`` px, with any
    transparency drawn over a light checkerboard (vision models see no alpha channel).

    ``source`` may be pixels decoded earlier, which saves a second decode."""
    if isinstance(source, bytes):
        source = _open_reduced(source, short_side, long_side)
    if source.mode == "RGB":
        flat = source
    elif "A" in source.getbands() or "transparency" in source.info:
        rgba = source if source.mode == "RGBA" else source.convert("RGBA")
        flat = checkerboard(rgba.width, rgba.height)
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = source.convert("RGB")
    scale = _scale(flat.size, short_side, long_side)
    if scale < 1.0:
        size = (max(1, round(flat.width * scale)), max(1, round(flat.height * scale)))
        flat = flat.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _scale(size: tuple[int, int], short_side: int, long_side: int) -> float:
    return min(1.0, short_side / min(size), long_side / max(size))


def _open_reduced(data: bytes, short_side: int, long_side: int) -> Image.Image:
    """Bytes checked earlier, opened for a smaller copy: a JPEG is decoded straight at the
    smallest DCT scale that still covers the copy, several times faster than at full size."""
    image = Image.open(io.BytesIO(data))
    scale = _scale(image.size, short_side, long_side)
    if scale < 1.0:
        image.draft(None, (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    image.load()
    return normalise(image)[0]  # upright (EXIF), 8-bit sRGB: what a person sees


def checkerboard(width: int, height: int, cell: int = 16) -> Image.Image:
    """The usual 'this is transparent' pattern, in two light greys."""
    return _checkerboard(width, height, cell).copy()


@functools.lru_cache(maxsize=8)
def _checkerboard(width: int, height: int, cell: int) -> Image.Image:
    columns, rows = -(-width // cell), -(-height // cell)
    cells = Image.new("L", (columns, rows))
    cells.putdata([204 if (x + y) % 2 == 0 else 236 for y in range(rows) for x in range(columns)])
    board = cells.resize((columns * cell, rows * cell), Image.Resampling.NEAREST)
    return board.crop((0, 0, width, height)).convert("RGB")


def data_url(data: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"
