from __future__ import annotations

import gzip
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.file_server import FileServer
from images import decode, ring_photo

from agentic_image_gen.core.errors import ReferenceImageError
from agentic_image_gen.inputs import references, safe_http


@pytest.fixture
def files() -> Iterator[FileServer]:
    with FileServer() as server:
        yield server


async def test_local_and_url_references_load_concurrently(
    tmp_path: Path, files: FileServer
) -> None:
    local = tmp_path / "ring.jpg"
    local.write_bytes(ring_photo())
    url = files.add(
        "/side.png", ring_photo(fmt="PNG", alpha=True), 200, **{"Content-Type": "image/png"}
    )
    loaded = await references.load_all([str(local), url], allow_private=True)
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


async def test_a_100_megapixel_camera_photo_is_a_reference(tmp_path: Path) -> None:
    """12000 x 8000 (a medium-format camera's size) was refused with Pillow's bomb text: it
    loads, decoded in draft mode at the DCT scale that still covers 2048 px (3000 x 2000),
    and is sent at 2048 px, the product where the photo has it."""
    import io

    from PIL import Image, ImageDraw

    from agentic_image_gen.inputs.imaging import decode_image

    photo = Image.new("RGB", (12000, 8000), (236, 236, 232))
    ImageDraw.Draw(photo).ellipse((4000, 2000, 8000, 6000), fill=(150, 110, 40))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90)
    del photo
    path = tmp_path / "camera.jpg"
    path.write_bytes(out.getvalue())
    decoded = decode_image(out.getvalue(), fit=references.MAX_REFERENCE_SIDE)
    assert (decoded.pixels.size, decoded.stored) == ((3000, 2000), (12000, 8000))
    (loaded,) = await references.load_all([str(path)])
    assert (loaded.width, loaded.height, loaded.mime_type) == (2048, 1365, "image/jpeg")
    sent = decode(loaded.data)
    assert sent.size == (2048, 1365)
    assert sent.getpixel((1024, 682))[0] < 170 and sent.getpixel((10, 10))[0] > 225


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
        await references.load_all([missing], allow_private=True)
    broken = files.add("/broken.png", b"oops", status=500)
    with pytest.raises(ReferenceImageError, match="answered HTTP 500"):
        await references.load_all([broken], allow_private=True)
    lying = files.add("/fake.png", b"<html>hi</html>", 200, **{"Content-Type": "image/png"})
    with pytest.raises(ReferenceImageError, match="not a readable image") as caught:
        await references.load_all([lying], allow_private=True)
    assert "object at 0x" not in str(caught.value)
    page = files.add("/page.png", b"<html>login</html>", 200, **{"Content-Type": "text/html"})
    with pytest.raises(ReferenceImageError, match=r"the server sent text/html$"):
        await references.load_all([page], allow_private=True)
    monkeypatch.setattr(references, "MAX_REFERENCE_BYTES", 1000)
    big = files.add("/big.jpg", ring_photo())
    with pytest.raises(ReferenceImageError, match=r"larger than 1000 bytes \(Content-Length"):
        await references.load_all([big], allow_private=True)


async def test_loopback_urls_need_allow_private(files: FileServer) -> None:
    """The same loopback URLs that load above are refused by default, before any request."""
    good = files.add("/ring.png", ring_photo(fmt="PNG"))
    for url in (good, files.url("/nope.png"), files.add("/l", b"", status=302, Location="/l")):
        with pytest.raises(ReferenceImageError) as caught:
            await references.load_all([url])
        assert str(caught.value) == (
            f"reference {url!r} refused: host '127.0.0.1' is a loopback address "
            "(--allow-private-urls permits intranet hosts)"
        )
    assert files.hits == []


async def test_redirect_loop_is_capped(files: FileServer) -> None:
    loop_url = files.add("/loop", b"", status=302, Location="/loop")
    with pytest.raises(ReferenceImageError, match="redirects too many times"):
        await references.load_all([loop_url], allow_private=True)
    assert len(files.hits) == references.MAX_REDIRECTS + 1


async def test_redirects_within_the_cap_are_followed(files: FileServer) -> None:
    final = files.add("/final.png", ring_photo(fmt="PNG"))
    files.add("/hop2", b"", status=307, Location=final)
    start = files.add("/hop1", b"", status=301, Location="/hop2")
    (loaded,) = await references.load_all([start], allow_private=True)
    assert decode(loaded.data).format == "PNG"
    assert files.hits == ["/hop1", "/hop2", "/final.png"]


async def test_credentials_never_reach_messages_or_sources(files: FileServer) -> None:
    good = files.add("/ring.png", ring_photo(fmt="PNG")).replace("//", "//ann:s3cret-pw@")
    (loaded,) = await references.load_all([good], allow_private=True)
    assert loaded.source == good.replace("ann:s3cret-pw@", "***@")
    for url in (good.replace("ring.png", "nope.png"), good, "ftp://ann:s3cret-pw@host/x.png"):
        allow = url != good
        with pytest.raises(ReferenceImageError) as caught:
            await references.load_all([url], allow_private=allow)
        assert "s3cret-pw" not in str(caught.value) and "***@" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/ring.jpg", "only http and https URLs are supported (got ftp:)"),
        ("file:///etc/passwd", "only http and https URLs are supported (got file:)"),
        (
            "data:image/png;base64,iVBORw0KGgo=",
            "only http and https URLs are supported (got data:)",
        ),
        ("javascript:alert(1)", "only http and https URLs are supported (got javascript:)"),
        ("http:///ring.jpg", "the URL has no host name"),
    ],
)
async def test_unsupported_urls(url: str, message: str) -> None:
    with pytest.raises(ReferenceImageError) as caught:
        await references.load_all([url])
    assert str(caught.value) == f"reference {url!r} refused: {message}"


async def test_unreachable_host() -> None:
    with pytest.raises(ReferenceImageError, match="could not be fetched"):
        await references.load_all(["http://127.0.0.1:9/ring.jpg"], allow_private=True)


class RawServer:
    """Answers every connection with ``head`` then ``body``, ``delay`` seconds between chunks."""

    def __init__(self, head: bytes, body: bytes, chunk: int = 65536, delay: float = 0.0) -> None:
        self.head, self.body, self.chunk, self.delay = head, body, chunk, delay
        self.sent = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/ring.png"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with self._sock, self._sock.accept()[0] as conn:
            conn.recv(65536)
            try:
                conn.sendall(self.head)
                for start in range(0, len(self.body), self.chunk):
                    conn.sendall(self.body[start : start + self.chunk])
                    self.sent = start + self.chunk
                    time.sleep(self.delay)
            except OSError:
                return  # the client hung up, as it should when it has read enough


async def test_body_without_length_is_cut_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(references, "MAX_REFERENCE_BYTES", 100_000)
    server = RawServer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"x" * 5_000_000, 8192)
    with pytest.raises(ReferenceImageError, match=r"is larger than 100000 bytes$"):
        await references.load_all([server.url], allow_private=True)
    assert server.sent < 5_000_000  # stopped reading long before the end


async def test_lying_content_length_is_refused_up_front() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n"
    server = RawServer(head, b"")
    with pytest.raises(
        ReferenceImageError, match=r"larger than 100 MB \(Content-Length 999999999\)"
    ):
        await references.load_all([server.url], allow_private=True)


async def test_compressed_body_is_refused() -> None:
    body = gzip.compress(ring_photo(fmt="PNG"))
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
    server = RawServer(head, body)
    with pytest.raises(ReferenceImageError, match=r"came compressed \(gzip\)"):
        await references.load_all([server.url], allow_private=True)


async def test_slow_body_hits_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_http, "DEADLINE", 0.5)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    server = RawServer(head, b"x" * 100_000, chunk=10, delay=0.05)
    started = time.monotonic()
    with pytest.raises(ReferenceImageError, match=r"took longer than 0\.5 s; gave up$"):
        await references.load_all([server.url], allow_private=True)
    assert time.monotonic() - started < 3


async def test_the_real_resolver_returns_every_address_once() -> None:
    assert await safe_http.resolve_host("127.0.0.1", 80) == [safe_http.literal_address("127.0.0.1")]
    assert safe_http.literal_address("localhost") is None
    assert str(safe_http.literal_address("0x7f.1")) == "127.0.0.1"
