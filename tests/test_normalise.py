"""Every image a model sees or we measure is normalised once (issue 16): upright, 8-bit,
sRGB, one frame; references below the minimum size are refused; previews cached by content.

Each case builds the troublesome file for real (16-bit PNG, EXIF-rotated JPEG, CMYK, an RGB
file with an embedded ICC profile that swaps red and blue, an animated PNG) and checks the
decoded pixels of what a model would be sent.
"""

from __future__ import annotations

import io
import struct
from contextlib import AsyncExitStack
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeOpenAIServer
from images import decode, ring_photo
from PIL import Image

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import ReferenceImageError
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.frontends import cli
from agentic_image_gen.inputs import references
from agentic_image_gen.inputs.imaging import decode_image, vision_copy
from agentic_image_gen.pixels import decode as pixels_decode
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.registry import Registry


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def mean_rgb(data: bytes) -> tuple[float, float, float]:
    pixels = np.asarray(decode(data).convert("RGB"), dtype=np.float64)
    red, green, blue = pixels.reshape(-1, 3).mean(axis=0)
    return float(red), float(green), float(blue)


async def load(tmp_path: Path, name: str, data: bytes) -> ReferenceImage:
    path = tmp_path / name
    path.write_bytes(data)
    (loaded,) = await references.load_all([str(path)])
    return loaded


# ---- bit depth -----------------------------------------------------------------------------


def grey_ramp(dtype: type, top: float, size: tuple[int, int] = (128, 96)) -> np.ndarray:
    """A horizontal ramp from 0 to ``top``: its 8-bit mean must come out near 127."""
    row = np.linspace(0, top, size[0])
    return np.tile(row, (size[1], 1)).astype(dtype)


async def test_a_16_bit_png_reference_is_a_ramp_not_white(tmp_path: Path) -> None:
    data = encoded(Image.fromarray(grey_ramp(np.uint16, 65535)), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    loaded = await load(tmp_path, "grey16.png", data)
    red, green, blue = mean_rgb(loaded.data)
    assert 120 < red < 135 and abs(red - green) < 1 and abs(red - blue) < 1
    red, _, _ = mean_rgb(vision_copy(loaded.data, 768, 768))
    assert 120 < red < 135


@pytest.mark.parametrize(
    ("mode", "array", "fmt"),
    [
        ("I;16", grey_ramp(np.uint16, 65535), "PNG"),
        ("I;16", grey_ramp(np.uint16, 65535), "TIFF"),
        ("I", grey_ramp(np.int32, 65535), "TIFF"),
        ("F", grey_ramp(np.float32, 1.0), "TIFF"),
    ],
)
def test_high_bit_depth_modes_scale_to_8_bits(mode: str, array: np.ndarray, fmt: str) -> None:
    data = encoded(Image.fromarray(array), fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    decoded = decode_image(data)
    values = np.asarray(decoded.pixels, dtype=np.float64)
    assert decoded.pixels.mode == "L" and decoded.normalised
    assert values.min() == 0 and values.max() == 255 and 120 < values.mean() < 135


# ---- orientation ---------------------------------------------------------------------------


def sideways_jpeg() -> bytes:
    """A 200x100 JPEG whose EXIF says 'rotate 90 degrees clockwise to view' (orientation 6):
    upright it is 100x200 with the red band at the top."""
    pixels = np.full((100, 200, 3), 235, np.uint8)
    pixels[:, :40] = (220, 20, 20)  # the left edge of the stored pixels: the top, upright
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(Image.fromarray(pixels), "JPEG", exif=exif.tobytes(), quality=95)


async def test_an_exif_rotated_reference_is_sent_upright(tmp_path: Path) -> None:
    loaded = await load(tmp_path, "phone.jpg", sideways_jpeg())
    assert (loaded.width, loaded.height) == (100, 200)
    upright = np.asarray(decode(loaded.data).convert("RGB"), dtype=np.float64)
    assert upright.shape == (200, 100, 3)
    assert upright[:30, :, 0].mean() > 200 and upright[:30, :, 1].mean() < 60  # red on top
    assert upright[-30:].mean() > 220  # light at the bottom


def test_the_evaluator_copy_and_the_measurements_of_a_rotated_image_are_upright() -> None:
    data = sideways_jpeg()
    for source in (data, decode_image(data).pixels):
        copy = np.asarray(decode(vision_copy(source, 768, 768)).convert("RGB"), np.float64)
        assert copy.shape == (200, 100, 3)
        assert copy[:30, :, 0].mean() > 200 and copy[:30, :, 1].mean() < 60
    measured = pixels_decode.decode(data)
    assert (measured.width, measured.height) == (100, 200)
    assert measured.rgb[:30, :, 1].mean() < 0.25


# ---- colour: CMYK and ICC profiles -------------------------------------------------------


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def swapped_profile() -> bytes:
    """A valid ICC v2 RGB matrix/TRC profile whose red primary is sRGB's blue and whose blue
    primary is sRGB's red: pixels tagged with it that read (255, 0, 0) are really blue."""
    name = b"Swapped primaries test\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(name)) + name + b"\0" * 12 + b"\0" * 67
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.1431, 0.0606, 0.7141)),  # sRGB's blue (D50)
        (b"gXYZ", _xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", _xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red (D50)
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text\0\0\0\0none\0\0\0\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
    header += b"\0" * 12 + b"acsp" + b"\0" * 24 + b"\0" * 4
    header += _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


async def test_an_embedded_icc_profile_is_applied(tmp_path: Path) -> None:
    red_pixels = Image.new("RGB", (96, 96), (255, 0, 0))
    data = encoded(red_pixels, "PNG", icc_profile=swapped_profile())
    loaded = await load(tmp_path, "tagged.png", data)
    red, _, blue = mean_rgb(loaded.data)
    assert blue > 200 and red < 60, (red, blue)  # what the profile says the pixels are


async def test_a_cmyk_jpeg_reference_becomes_rgb(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (96, 96), (0, 255, 255, 0))  # full magenta + yellow: red
    loaded = await load(tmp_path, "print.jpg", encoded(cmyk, "JPEG", quality=95))
    assert decode(loaded.data).mode == "RGB"
    red, green, blue = mean_rgb(loaded.data)
    assert red > 200 and green < 60 and blue < 60


# ---- animation -----------------------------------------------------------------------------


async def test_an_animated_png_reference_is_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (96, 96), colour) for colour in ((200, 30, 30), (30, 30, 200))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(out.getvalue())).n_frames == 2
    loaded = await load(tmp_path, "blink.png", out.getvalue())
    sent = Image.open(io.BytesIO(loaded.data))
    assert getattr(sent, "n_frames", 1) == 1
    red, _, blue = mean_rgb(loaded.data)
    assert red > 150 and blue < 80


# ---- minimum size --------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "shown"), [((1, 1), "1x1"), ((640, 40), "640x40")])
async def test_a_reference_below_the_minimum_size_is_a_bad_reference(
    tmp_path: Path, size: tuple[int, int], shown: str
) -> None:
    path = tmp_path / "tiny.png"
    path.write_bytes(encoded(Image.new("RGB", size, (200, 150, 40)), "PNG"))
    with pytest.raises(ReferenceImageError, match=f"is {shown} px; its shorter side must be"):
        await references.load_all([str(path)])


def test_a_1x1_reference_exits_3_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(encoded(Image.new("RGBA", (1, 1)), "PNG"))
    code = cli.main(["gold ring", "--refs", str(path), "--out", str(tmp_path / "runs")])
    captured = capsys.readouterr()
    assert (code, captured.out) == (3, "")
    assert captured.err == (
        f"agentic-image-gen: error: reference {str(path)!r} is 1x1 px; its shorter side "
        "must be at least 64 px to show the product\n"
    )
    assert not (tmp_path / "runs").exists()


async def test_a_64_px_reference_is_enough(tmp_path: Path) -> None:
    loaded = await load(tmp_path, "small.png", ring_photo(64, 64, fmt="PNG"))
    assert (loaded.width, loaded.height) == (64, 64)


# ---- previews cached by content ----------------------------------------------------------


async def test_reference_previews_are_cached_by_content_not_by_name(
    openai_env: FakeOpenAIServer, tmp_path: Path
) -> None:
    """Two URLs that share their first 200 characters are shown (and named) the same; the
    evaluator must still see two different pictures: uploads are keyed by content."""
    shown = "https://shop.example/" + "a" * 178 + "…"
    red = encoded(Image.new("RGB", (96, 96), (220, 20, 20)), "PNG")
    blue = encoded(Image.new("RGB", (96, 96), (20, 20, 220)), "PNG")
    refs = tuple(ReferenceImage(shown, data, "image/png", 96, 96) for data in (red, blue))
    async with AsyncExitStack() as stack:
        context = ProviderContext(RunConfig(prompt="ring", out_dir=tmp_path), stack)
        evaluator = await Registry.installed().create("evaluator", "checklist", context)
        parts = await evaluator._references(refs)
        again = await evaluator._references(refs)
    assert [part["file_id"] for part in parts] == [part["file_id"] for part in again]
    assert parts[0]["file_id"] != parts[1]["file_id"]
    uploads = openai_env.requests_to("/v1/files")
    assert len([r for r in uploads if r.method == "POST"]) == 2
