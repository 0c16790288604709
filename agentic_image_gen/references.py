"""Load reference images from local paths and http(s) URLs, once, checked by content."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image

from agentic_image_gen.errors import ReferenceImageError
from agentic_image_gen.imaging import NotAnImage, inspect_image
from agentic_image_gen.types import ReferenceImage

MAX_REFERENCE_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
FETCH_TIMEOUT = httpx.Timeout(20.0, connect=10.0)
# Sent as-is when already compact; otherwise downscaled to this longer side, which keeps
# enough detail for engravings and stone facets while keeping the upload small.
MAX_REFERENCE_SIDE = 2048
SENDABLE_FORMATS = {"PNG", "JPEG", "WEBP"}


def is_url(source: str) -> bool:
    return "://" in source


async def load_all(
    sources: list[str] | tuple[str, ...],
    *,
    allow_private: bool = False,
    client: httpx.AsyncClient | None = None,
) -> list[ReferenceImage]:
    """Fetch every reference concurrently; the first bad one fails the whole call.

    ``allow_private`` lets URLs reach loopback and private networks (``--allow-private-urls``).
    """
    if not sources:
        return []
    if client is None:
        async with _new_client() as own_client:
            return await load_all(sources, allow_private=allow_private, client=own_client)
    return list(await asyncio.gather(*(load_one(source, client) for source in sources)))


async def load_one(source: str, client: httpx.AsyncClient) -> ReferenceImage:
    data = await (_fetch(source, client) if is_url(source) else asyncio.to_thread(_read, source))
    return await asyncio.to_thread(_checked, source, data)


def _new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=FETCH_TIMEOUT,
        headers={"User-Agent": "agentic-image-gen"},
    )


def _read(source: str) -> bytes:
    path = Path(source).expanduser()
    if not path.exists():
        raise ReferenceImageError(f"reference {source!r} does not exist")
    if path.is_dir():
        raise ReferenceImageError(f"reference {source!r} is a directory, not an image file")
    if not os.access(path, os.R_OK):
        raise ReferenceImageError(f"reference {source!r} is not readable (check its permissions)")
    size = path.stat().st_size
    if size > MAX_REFERENCE_BYTES:
        raise ReferenceImageError(
            f"reference {source!r} is {size / 1e6:.1f} MB; the limit is "
            f"{MAX_REFERENCE_BYTES / 1e6:.0f} MB"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReferenceImageError(f"reference {source!r} cannot be read: {exc.strerror}") from exc


async def _fetch(url: str, client: httpx.AsyncClient) -> bytes:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ReferenceImageError(f"reference {url!r}: only http and https URLs are supported")
    if not parts.hostname:
        raise ReferenceImageError(f"reference {url!r} has no host name")
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ReferenceImageError(f"reference {url!r} answered HTTP {response.status_code}")
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > MAX_REFERENCE_BYTES:
                    raise ReferenceImageError(
                        f"reference {url!r} is larger than {MAX_REFERENCE_BYTES / 1e6:.0f} MB"
                    )
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TooManyRedirects as exc:
        raise ReferenceImageError(f"reference {url!r} redirects too many times") from exc
    except httpx.TimeoutException as exc:
        raise ReferenceImageError(f"reference {url!r} timed out") from exc
    except httpx.HTTPError as exc:
        raise ReferenceImageError(f"reference {url!r} could not be fetched: {exc}") from exc


def _checked(source: str, data: bytes) -> ReferenceImage:
    """Decode fully, then keep compact sendable bytes (downscaled only when needed)."""
    try:
        info = inspect_image(data)
    except NotAnImage as exc:
        raise ReferenceImageError(f"reference {source!r} is {exc}") from exc
    if info.format in SENDABLE_FORMATS and max(info.width, info.height) <= MAX_REFERENCE_SIDE:
        return ReferenceImage(source, data, info.mime_type, info.width, info.height)
    with Image.open(io.BytesIO(data)) as image:
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
