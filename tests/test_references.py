from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.file_server import FileServer
from images import decode, ring_photo

from agentic_image_gen import references
from agentic_image_gen.errors import ReferenceImageError


@pytest.fixture
def files() -> Iterator[FileServer]:
    with FileServer() as server:
        yield server


async def test_local_and_url_references_load_concurrently(
    tmp_path: Path, files: FileServer
) -> None:
    local = tmp_path / "ring.jpg"
    local.write_bytes(ring_photo())
    url = files.add("/side.png", ring_photo(fmt="PNG", alpha=True), **{"Content-Type": "image/png"})
    loaded = await references.load_all([str(local), url])
    assert [ref.source for ref in loaded] == [str(local), url]
    assert loaded[0].mime_type == "image/jpeg"
    assert loaded[1].mime_type == "image/png"
    assert (loaded[1].width, loaded[1].height) == (640, 480)
    assert decode(loaded[1].data).mode == "RGBA"


async def test_large_reference_is_downscaled_once(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(ring_photo(4000, 3000, fmt="PNG"))
    (loaded,) = await references.load_all([str(path)])
    assert (loaded.width, loaded.height) == (2048, 1536)
    assert decode(loaded.data).size == (2048, 1536)
    assert loaded.mime_type == "image/jpeg"


async def test_gif_is_re_encoded_to_a_sendable_format(tmp_path: Path) -> None:
    path = tmp_path / "ring.gif"
    path.write_bytes(ring_photo(fmt="GIF"))
    (loaded,) = await references.load_all([str(path)])
    assert decode(loaded.data).format in {"PNG", "JPEG"}


def _truncated_png() -> bytes:
    data = ring_photo(fmt="PNG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.jpg", "does not exist"),
        (lambda p: p, "is a directory"),
        (lambda p: _write(p / "notes.png", b"just text, not pixels"), "not a readable image"),
        (lambda p: _write(p / "cut.png", _truncated_png()), "not a readable image"),
        (lambda p: _write(p / "empty.jpg", b""), "not a readable image"),
    ],
)
async def test_bad_local_references(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ReferenceImageError, match=message):
        await references.load_all([str(path)])


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
async def test_unreadable_reference(tmp_path: Path) -> None:
    path = _write(tmp_path / "secret.jpg", ring_photo())
    path.chmod(0)
    with pytest.raises(ReferenceImageError, match="not readable"):
        await references.load_all([str(path)])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_url_errors(files: FileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = files.url("/nope.png")
    with pytest.raises(ReferenceImageError, match="answered HTTP 404"):
        await references.load_all([missing])
    lying = files.add("/fake.png", b"<html>hi</html>", **{"Content-Type": "image/png"})
    with pytest.raises(ReferenceImageError, match="not a readable image"):
        await references.load_all([lying])
    monkeypatch.setattr(references, "MAX_REFERENCE_BYTES", 1000)
    big = files.add("/big.jpg", ring_photo())
    with pytest.raises(ReferenceImageError, match="larger than"):
        await references.load_all([big])


async def test_redirect_loop_is_capped(files: FileServer) -> None:
    loop_url = files.add("/loop", b"", status=302, Location="/loop")
    with pytest.raises(ReferenceImageError, match="redirects too many times"):
        await references.load_all([loop_url])
    assert len(files.hits) == references.MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/ring.jpg", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///ring.jpg", "no host name"),
    ],
)
async def test_unsupported_urls(url: str, message: str) -> None:
    with pytest.raises(ReferenceImageError, match=message):
        await references.load_all([url])


async def test_unreachable_host() -> None:
    with pytest.raises(ReferenceImageError, match="could not be fetched"):
        await references.load_all(["http://127.0.0.1:9/ring.jpg"])
