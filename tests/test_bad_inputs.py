"""The bad-input corpus: prompts, flags, files and URLs, each through ``cli.main``.

Every case must end with its documented exit code, exactly one line on stderr starting with
``agentic-image-gen: error: `` (no traceback), nothing on stdout and no run folder. The API is
unreachable (port 9) and the network guard forbids anything but loopback, so no case can spend
money or reach a real host.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.file_server import FileServer
from fakes.network import FakeDNS, NetworkGuard
from images import ring_photo

from agentic_image_gen.core.errors import InputError, ProviderError, ReferenceImageError, RunFailed
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.frontends import cli
from agentic_image_gen.frontends.error_output import error_json, error_object
from agentic_image_gen.inputs import references, safe_http

PREFIX = "agentic-image-gen: error: "
PRIVATE_HINT = " (--allow-private-urls permits intranet hosts)"


def _png_claiming(width: int, height: int) -> bytes:
    """A 69-byte PNG whose header claims ``width`` x ``height``: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) says ``width`` x ``height``."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 180, 90)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    at = data.index(b"\xff\xc0") + 5  # marker, length (2), precision (1): height, width
    data[at : at + 4] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture(autouse=True)
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[NetworkGuard]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.chdir(tmp_path)
    guard = NetworkGuard()
    guard.install(monkeypatch)
    monkeypatch.setattr(safe_http, "resolve_host", FakeDNS())  # every name is unknown
    yield guard
    assert guard.blocked == [], f"a bad input reached the network: {guard.blocked}"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    png, jpeg = ring_photo(fmt="PNG"), ring_photo()
    contents = {
        "notes.png": b"just text, not pixels",
        "cut.png": png[: len(png) // 2],
        "cut.jpg": jpeg[: len(jpeg) // 2],
        "empty.jpg": b"",
        "text.jpg": b"a text file named like a JPEG",
        "ring.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>',
        "bomb.png": _png_claiming(20000, 20000),
        "bomb.jpg": _jpeg_claiming(16400, 12300),  # just past the limit: refused, not decoded
        "page.html.png": b"<!doctype html><title>login</title>",
    }
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    with open(folder / "huge.png", "wb") as sparse:
        sparse.truncate(101 * 2**20)  # 101 MB on paper, nothing on disk
    os.mkfifo(folder / "pipe.png")  # opening it would block until a writer came
    return folder


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as files:
        files.add("/boom.png", b"internal error", status=500)
        files.add("/page.png", b"<html>sign in</html>", 200, **{"Content-Type": "text/html"})
        files.add("/loop.png", b"", status=302, Location="/loop.png")
        files.add("/ring.jpg", ring_photo())
        yield files


def fail(argv: list[str], code: int, expected: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Assert exit code, empty stdout, one stderr line == ``expected`` ("..." ends a prefix)."""
    exit_code = cli.main([*argv, "--out", "runs", "--quiet"] if argv else argv)
    out, err = capsys.readouterr()
    assert (exit_code, out) == (code, ""), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    line = err.rstrip("\n")
    assert line.startswith(PREFIX) and "Traceback" not in err
    if expected.endswith("..."):
        assert line.startswith(PREFIX + expected[:-3]), line
    else:
        assert line == PREFIX + expected
    assert not Path("runs").exists()
    return line


FLAG_CASES = [
    ([""], 2, "the prompt is empty: describe the image you want"),
    (["  \t\n "], 2, "the prompt is empty: describe the image you want"),
    (["\u200b\u200d\ufeff\u2060"], 2, "the prompt is empty: describe the image you want"),
    (["x" * 32_001], 2, "the prompt has 32001 characters; the limit is 32000"),
    ([], 2, "the following arguments are required: prompt (or --resume RUN_DIR)"),
    (["ring", "--threshold", "abc"], 2, "argument --threshold: invalid int value: 'abc'"),
    (["ring", "--threshold", "-1"], 2, "--threshold must be between 0 and 100"),
    (["ring", "--threshold", "101"], 2, "--threshold must be between 0 and 100"),
    (["ring", "--threshold", "85.5"], 2, "argument --threshold: invalid int value: '85.5'"),
    (["ring", "--max-iterations", "0"], 2, "--max-iterations must be between 1 and 50"),
    (["ring", "--max-iterations", "51"], 2, "--max-iterations must be between 1 and 50"),
    (["ring", "--max-iterations", "1e3"], 2, "argument --max-iterations: invalid int value: '1e3'"),
    (["ring", "--candidates", "0"], 2, "--candidates must be between 1 and 8"),
    (["ring", "--max-concurrency", "0"], 2, "--max-concurrency must be between 1 and 32"),
    (["ring", "--max-cost", "-5"], 2, "--max-cost must be a positive amount of US dollars"),
    (["ring", "--max-cost", "nan"], 2, "--max-cost must be a positive amount of US dollars"),
    (["ring", "--quality", "ultra"], 2, "argument --quality: invalid choice: 'ultra'..."),
    (["ring", "--format", "gif"], 2, "argument --format: invalid choice: 'gif'..."),
    (["ring", "--background", "green"], 2, "argument --background: invalid choice: 'green'..."),
    (["ring", "--provider", "dalle"], 2, "--provider 'dalle' is not an installed provider..."),
    (["ring", "--size", "1000x1000"], 2, "--size 1000x1000: width and height must both be..."),
    (["ring", "--size", "big"], 2, "--size 'big' is not 'auto' or WIDTHxHEIGHT..."),
    (["ring", "--size", "0x0"], 2, "--size '0x0' is not 'auto' or WIDTHxHEIGHT..."),
    (["ring", "--size", "4096x4096"], 2, "--size 4096x4096: the largest supported size is..."),
    (["ring", "--size", "512x2048"], 2, "--size 512x2048: the aspect ratio must be between..."),
    (["ring", "--size", "-1024x1024"], 2, "argument --size: expected one argument"),
    (
        ["ring", "--background", "transparent", "--format", "jpeg"],
        2,
        "--background 'transparent' needs --format 'png' or 'webp' (JPEG has no transparency)",
    ),
    (["ring", "--bogus"], 2, "unrecognized arguments: --bogus"),
    (["ring", "--refs"], 2, "argument --refs: expected at least one argument"),
    (["--resume", "no-such-run"], 2, "no-such-run is not a run folder"),
    (
        ["ring", "--generator", "dalle9"],
        2,
        "--generator 'dalle9' is not an installed generator (known: ...",
    ),
    (
        ["ring", "--evaluator", "vibes"],
        2,
        "--evaluator 'vibes' is not an installed evaluator (known: ...",
    ),
    (
        ["ring", "--prompter", "poet"],
        2,
        "--prompter 'poet' is not an installed prompter (known: ...",
    ),
]


@pytest.mark.parametrize(("argv", "code", "expected"), FLAG_CASES, ids=lambda v: str(v)[:40])
def test_bad_prompts_and_flags(
    argv: list[str], code: int, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fail(argv, code, expected, capsys)


FILE_CASES = [
    ("missing.png", "does not exist"),
    ("", "is a directory, not an image file"),
    ("notes.png", "is not a readable image (cannot identify image file)"),
    ("cut.png", "is not a readable image (image file is truncated)"),
    ("cut.jpg", "is not a readable image (image file is truncated..."),
    ("empty.jpg", "is not a readable image (cannot identify image file)"),
    ("text.jpg", "is not a readable image (cannot identify image file)"),
    ("ring.svg", "is not a readable image (cannot identify image file)"),
    ("page.html.png", "is not a readable image (cannot identify image file)"),
    ("bomb.png", "is 20000x20000 px (400 MP); the limit is 200 MP"),
    ("bomb.jpg", "is 16400x12300 px (202 MP); the limit is 200 MP"),
    ("huge.png", "is 101.0 MB; the limit is 100 MB"),
    ("pipe.png", "is not a regular file"),
]


@pytest.mark.parametrize(("name", "expected"), FILE_CASES, ids=lambda v: str(v)[:30])
def test_bad_reference_files(
    name: str, expected: str, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(files / name) if name else str(files)
    fail(["ring", "--refs", path], 3, f"reference {path!r} {expected}", capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_reference_file(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = files / "cut.png"
    path.chmod(0)
    expected = f"reference {str(path)!r} is not readable (check its permissions)"
    fail(["ring", "--refs", str(path)], 3, expected, capsys)


URL_CASES = [
    ("ftp://example.com/ring.png", "refused: only http and https URLs are supported (got ftp:)"),
    ("file:///etc/passwd", "refused: only http and https URLs are supported (got file:)"),
    ("data:image/png;base64,iVBORw0K", "refused: only http and https URLs are supported..."),
    ("javascript:alert(1)", "refused: only http and https URLs are supported (got javascript:)"),
    ("http:///ring.png", "refused: the URL has no host name"),
    ("http://[::1/ring.png", "refused: the URL is not valid..."),
    ("http://10.0.0.8/ring.png", "refused: host '10.0.0.8' is a private address" + PRIVATE_HINT),
    ("http://2130706433/a.png", "refused: host '2130706433' is a loopback address" + PRIVATE_HINT),
    ("http://[::ffff:127.0.0.1]/a.png", "refused: host '::ffff:127.0.0.1' is a loopback addr..."),
    (
        "http://169.254.169.254/latest/meta-data/",
        "refused: host '169.254.169.254' is a cloud metadata address",
    ),
    (
        "http://metadata.google.internal/computeMetadata/v1/",
        "refused: host 'metadata.google.internal' is a cloud metadata service",
    ),
    ("https://nowhere.example/ring.png", "could not be fetched: host 'nowhere.example' was not..."),
]


@pytest.mark.parametrize(("url", "expected"), URL_CASES, ids=lambda v: str(v)[:40])
def test_bad_reference_urls(url: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    fail(["ring", "--refs", url], 3, f"reference {url!r} {expected}", capsys)


SERVED_CASES = [
    ("/nope.png", "answered HTTP 404"),
    ("/boom.png", "answered HTTP 500"),
    (
        "/page.png",
        "is not a readable image (cannot identify image file); the server sent text/html",
    ),
    ("/loop.png", "redirects too many times (more than 5)"),
]


@pytest.mark.parametrize(("path", "expected"), SERVED_CASES)
def test_bad_served_references(
    path: str, expected: str, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url(path)
    fail(
        ["ring", "--allow-private-urls", "--refs", url], 3, f"reference {url!r} {expected}", capsys
    )


def test_oversize_download(
    server: FileServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(references, "MAX_REFERENCE_BYTES", 4096)
    url = server.url("/ring.jpg")
    size = len(ring_photo())
    expected = f"reference {url!r} is larger than 4096 bytes (Content-Length {size})"
    fail(["ring", "--allow-private-urls", "--refs", url], 3, expected, capsys)


def test_private_url_needs_the_flag(server: FileServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.url("/ring.jpg")
    expected = f"reference {url!r} refused: host '127.0.0.1' is a loopback address" + PRIVATE_HINT
    fail(["ring", "--refs", url], 3, expected, capsys)
    assert server.hits == []  # refused before any connection


def test_url_credentials_are_never_echoed(
    server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url("/nope.png").replace("//", "//ann:hunter2@")
    shown = url.replace("ann:hunter2@", "***@")
    line = fail(["ring", "--allow-private-urls", "--refs", url], 3, "...", capsys)
    assert line == f"{PREFIX}reference {shown!r} answered HTTP 404"
    line = fail(["ring", "--refs", url], 3, f"reference {shown!r} refused: ...", capsys)
    assert "hunter2" not in line and "ann:" not in line


# --json-errors: on failure stdout carries exactly one line, {"error": {type, message, exit_code}},
# and stderr still the one-line message. The flag is wired in cli.py by the lead.
JSON_CASES = [
    (["ring", "--threshold", "101"], "InputError", 2),
    (["ring", "--refs", "missing.png"], "ReferenceImageError", 3),
    (["ring", "--generator", "dalle9"], "InputError", 2),
]


@pytest.mark.parametrize(("argv", "kind", "code"), JSON_CASES)
def test_json_errors(
    argv: list[str], kind: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = cli.main([*argv, "--json-errors", "--out", "runs", "--quiet"])
    out, err = capsys.readouterr()
    assert exit_code == code
    assert out.endswith("\n") and out.count("\n") == 1
    assert err.count("\n") == 1 and err.startswith(PREFIX)
    message = err[len(PREFIX) :].rstrip("\n")
    assert json.loads(out) == {"error": {"type": kind, "message": message, "exit_code": code}}


def test_error_json_shape() -> None:
    error = ReferenceImageError("reference 'a.png' does not exist")
    assert json.loads(error_json(error)) == {
        "error": {
            "type": "ReferenceImageError",
            "message": "reference 'a.png' does not exist",
            "exit_code": 3,
        }
    }
    assert "\n" not in error_json(InputError("two\nlines"))
    partial = RunResult(run_dir="runs/x", original_prompt="ring", iterations=[])
    failed = RunFailed(ProviderError("the image model refused"), partial)
    assert error_object(failed) == {
        "type": "ProviderError",
        "message": "the image model refused",
        "exit_code": 5,
    }
    assert error_object(RuntimeError("boom"))["exit_code"] == 1


def _png(pixels: bytes, width: int, height: int, mode: str) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes(mode, (width, height), pixels).save(out, "PNG")
    return out.getvalue()


UNUSABLE_CASES = [
    # A photo of the backdrop alone, and a cut-out with nothing left in it.
    ("backdrop.png", _png(bytes([240]) * 3 * 256 * 256, 256, 256, "RGB"), "shows nothing..."),
    ("clear.png", _png(bytes(4 * 256 * 256), 256, 256, "RGBA"), "has no visible product..."),
]


@pytest.mark.parametrize(("name", "data", "expected"), UNUSABLE_CASES, ids=lambda v: str(v)[:20])
def test_a_reference_with_no_usable_product(
    name: str, data: bytes, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It decodes, but the product the run works from is not in it: a reference problem
    (exit 3), found before a run folder exists."""
    path = tmp_path / name
    path.write_bytes(data)
    argv = ["ring", "--provider", "local", "--segmenter", "classical", "--refs", str(path)]
    line = fail(argv, 3, f"reference {str(path)!r}: ...", capsys)
    assert expected.removesuffix("...") in line
