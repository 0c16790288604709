"""Load reference images from local paths and http(s) URLs, once, checked by content."""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from agentic_image_gen.core.errors import ReferenceImageError
from agentic_image_gen.core.redact import shown, without_secrets
from agentic_image_gen.core.types import MAX_REFERENCE_BYTES, ReferenceImage
from agentic_image_gen.inputs.imaging import NotAnImage, decode_image
from agentic_image_gen.inputs.safe_http import Fetched, FetchError, SafeFetcher, UnsafeTarget

MAX_REDIRECTS = 5
# Sent as-is when already compact; otherwise downscaled to this longer side, which keeps
# enough detail for engravings and stone facets while keeping the upload small.
MAX_REFERENCE_SIDE = 2048
# Below this on its shorter side a photo cannot show a product's details (and a 1x1 pixel is
# a tracking pixel or a placeholder, not a product photo): refused as a bad reference.
MIN_REFERENCE_SIDE = 64
SENDABLE_FORMATS = {"PNG", "JPEG", "WEBP"}
# "data:", "javascript:", "file:"... are URLs too (and refused), but "C:\\x.png" is a path.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_PRIVATE_HINT = " (--allow-private-urls permits intranet hosts)"


def is_url(source: str) -> bool:
    return "://" in source or (bool(_SCHEME.match(source)) and not os.path.exists(source))


async def load_all(
    sources: Sequence[str | bytes], *, allow_private: bool = False
) -> list[ReferenceImage]:
    """Fetch every reference concurrently; the first bad one fails the whole call.

    URLs go through :class:`~agentic_image_gen.inputs.safe_http.SafeFetcher` (no private or metadata
    hosts, every redirect re-checked, size and time capped); ``allow_private`` lets them reach
    loopback and private networks (``--allow-private-urls``).
    """
    urls = [source for source in sources if isinstance(source, str) and is_url(source)]
    if not urls:  # no HTTP client (nor TLS setup) needed
        return list(await asyncio.gather(*(_load(n, s, None) for n, s in enumerate(sources))))
    async with SafeFetcher(
        allow_private=allow_private, max_bytes=MAX_REFERENCE_BYTES, max_redirects=MAX_REDIRECTS
    ) as fetcher:
        return list(await asyncio.gather(*(_load(n, s, fetcher) for n, s in enumerate(sources))))


async def _load(number: int, source: str | bytes, fetcher: SafeFetcher | None) -> ReferenceImage:
    """A path, a URL, or an image already in memory (e.g. a web upload: no temporary file)."""
    if isinstance(source, bytes):
        if len(source) > MAX_REFERENCE_BYTES:
            raise ReferenceImageError(
                f"reference #{number + 1} (in memory) is {len(source) / 2**20:.1f} MB; the "
                f"limit is {MAX_REFERENCE_BYTES / 2**20:g} MB"
            )
        name = f"in-memory reference #{number + 1}"
        return await asyncio.to_thread(_checked, name, source, "")
    return await load_one(source, fetcher)


async def load_one(source: str, fetcher: SafeFetcher | None) -> ReferenceImage:
    if not is_url(source):
        return await asyncio.to_thread(_read_checked, source)
    assert fetcher is not None, "load_all opens a fetcher whenever a source is a URL"
    fetched = await _fetch(source, fetcher)
    return await asyncio.to_thread(_checked, shown(source), fetched.data, fetched.content_type)


def _read_checked(source: str) -> ReferenceImage:
    """Read and check in one trip to a worker thread (each trip waits its turn on the loop)."""
    return _checked(source, _read(source), "")


def _read(source: str) -> bytes:
    path = Path(source).expanduser()
    if not path.exists():
        raise ReferenceImageError(f"reference {source!r} does not exist")
    if path.is_dir():
        raise ReferenceImageError(f"reference {source!r} is a directory, not an image file")
    if not path.is_file():  # /dev/zero never ends; a FIFO blocks until someone writes
        raise ReferenceImageError(f"reference {source!r} is not a regular file")
    if not os.access(path, os.R_OK):
        raise ReferenceImageError(f"reference {source!r} is not readable (check its permissions)")
    try:
        with path.open("rb") as file:  # capped read too: the file may grow while we read
            size = os.fstat(file.fileno()).st_size
            data = b"" if size > MAX_REFERENCE_BYTES else file.read(MAX_REFERENCE_BYTES + 1)
            size = max(size, len(data))
    except OSError as exc:
        raise ReferenceImageError(f"reference {source!r} cannot be read: {exc.strerror}") from exc
    if size > MAX_REFERENCE_BYTES:
        raise ReferenceImageError(
            f"reference {source!r} is {size / 2**20:.1f} MB; the limit is "
            f"{MAX_REFERENCE_BYTES / 2**20:g} MB"
        )
    return data


async def _fetch(url: str, fetcher: SafeFetcher) -> Fetched:
    """One line naming the URL (credentials redacted) for every way a fetch can fail."""
    try:
        return await fetcher.get(url)
    except UnsafeTarget as exc:
        hint = _PRIVATE_HINT if exc.private else ""
        message = f"reference {shown(url)!r} refused: {exc}{hint}"
    except FetchError as exc:
        message = f"reference {shown(url)!r} {exc}"
    raise ReferenceImageError(without_secrets(message, url))


def _checked(source: str, data: bytes, content_type: str) -> ReferenceImage:
    """Decode fully and normalise (upright, 8-bit sRGB, first frame), then keep compact
    sendable bytes: the original when normalising changed nothing and it is small enough,
    else the normalised pixels re-encoded (downscaled when needed), so the model, the
    evaluator's copy and the studio all see the same, normalised, picture.

    The bytes decide, not the name or the Content-Type; a non-image Content-Type is only
    mentioned to explain the refusal (a web page where an image was expected).
    """
    try:
        decoded = decode_image(data, fit=MAX_REFERENCE_SIDE)  # a camera JPEG: at reduced scale
    except NotAnImage as exc:
        # Pillow names the BytesIO it read from; that address means nothing to a user.
        reason = re.sub(r" <[^<>]* object at 0x[0-9a-fA-F]+>", "", str(exc))
        reason = reason.removeprefix("image is ")  # "is too large to decode safely (...)"
        served = content_type.split(";")[0].strip()
        if served and not served.startswith("image/"):
            reason += f"; the server sent {served}"
        raise ReferenceImageError(f"reference {source!r} is {reason}") from exc
    info, (width, height) = decoded.info, decoded.stored
    if min(width, height) < MIN_REFERENCE_SIDE:
        raise ReferenceImageError(
            f"reference {source!r} is {width}x{height} px; its shorter side must be "
            f"at least {MIN_REFERENCE_SIDE} px to show the product"
        )
    compact = max(info.width, info.height) <= MAX_REFERENCE_SIDE
    if info.format in SENDABLE_FORMATS and compact and not decoded.normalised:
        return ReferenceImage(source, data, info.mime_type, info.width, info.height)
    image = decoded.pixels.copy()
    image.thumbnail((MAX_REFERENCE_SIDE, MAX_REFERENCE_SIDE), Image.Resampling.LANCZOS)
    keep_alpha = info.has_alpha
    converted = image.convert("RGBA" if keep_alpha else "RGB")
    out = io.BytesIO()
    if keep_alpha:
        converted.save(out, "PNG", optimize=True)
    else:
        converted.save(out, "JPEG", quality=92)
    width, height = converted.size
    mime = "image/png" if keep_alpha else "image/jpeg"
    return ReferenceImage(source, out.getvalue(), mime, width, height)
