"""Synthetic product shots with known properties, and the no-network guard, for local tests.

``product_shot`` draws a ring (an anti-aliased elliptical band with engraved lines) and a blue
stone, with every property the technical checks measure set by an argument: where it sits,
how much of the frame it fills, its tone, blur, a grey rim left from an old background, the
backdrop (or transparency), a colour cast, clipping. Each test changes one property.
"""

from __future__ import annotations

import functools
import io
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ring.jpg"
GOLD = (0.83, 0.66, 0.22)
BLUE = np.array([0.12, 0.22, 0.75], np.float32)


@functools.lru_cache(maxsize=64)
def product_shot(
    size: tuple[int, int] = (512, 512),
    fill: float = 0.7,
    centre: tuple[float, float] = (0.5, 0.5),
    tone: float = 1.2,
    blur: float = 0.0,
    rim: int = 0,
    backdrop: str = "white",
    cast: tuple[float, float, float] = (0.0, 0.0, 0.0),
    metal: tuple[float, float, float] = GOLD,
    engraved: bool = True,
    clipped: float = 0.0,
    fmt: str = "PNG",
) -> bytes:
    """Encoded bytes of a ring on ``backdrop`` (white, gradient, dark, table, transparent);
    cached, since many tests start from the same clean shot."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    radius_y = fill * min(width, height) / 2 if height <= width else fill * height / 2
    radius_x = radius_y * 0.8
    cx, cy = centre[0] * width, centre[1] * height + radius_y * 0.12
    body_ry = radius_y * 0.88  # the stone sits on top: the whole box is 2 * radius_y tall
    r = np.hypot((xs - cx) / radius_x, (ys - cy) / body_ry)
    band = np.clip((1.0 - r) * body_ry + 0.5, 0, 1) * np.clip((r - 0.72) * body_ry + 0.5, 0, 1)
    stone_r = radius_y * 0.16
    stone_d = np.hypot(xs - cx, ys - (cy - body_ry - stone_r * 0.4)) - stone_r
    stone = np.clip(0.5 - stone_d, 0, 1)
    shade = 0.75 + 0.25 * np.cos((xs - cx) / radius_x * 2.2)
    if engraved:
        shade = shade * (0.8 + 0.2 * np.sign(np.sin((xs + ys) / 3.0)))
    rgb = (np.array(metal, np.float32) * shade[..., None]) * band[..., None]
    rgb = (
        rgb * (1 - stone[..., None])
        + BLUE * (0.8 + 0.2 * np.sin(xs / 2.0))[..., None] * stone[..., None]
    )
    alpha = np.maximum(band, stone)
    rgb = np.where(alpha[..., None] > 0, rgb / np.maximum(alpha, 1e-3)[..., None], 0)
    rgb = np.clip(rgb * tone, 0, 1)
    if clipped:  # a blown highlight: a band of rows across the ring turned pure white
        rows = np.nonzero((band > 0.5).any(axis=1))[0]
        top = rows[0] + int(len(rows) * 0.3)
        stripe = slice(top, top + int(len(rows) * clipped))
        rgb[stripe][band[stripe] > 0.5] = 1.0
    if rim:
        grown = cv2.dilate((alpha > 0.5).astype(np.uint8), np.ones((2 * rim + 1,) * 2, np.uint8))
        ring_rim = (grown > 0) & (alpha <= 0.5)
        rgb[ring_rim], alpha[ring_rim] = 0.45, 1.0
    if blur:
        premultiplied = cv2.GaussianBlur(rgb * alpha[..., None], (0, 0), blur)
        alpha = cv2.GaussianBlur(alpha, (0, 0), blur)
        rgb = np.where(
            alpha[..., None] > 1e-3, premultiplied / np.maximum(alpha, 1e-3)[..., None], 0
        )
    if backdrop == "transparent":
        rgba = np.dstack([rgb, alpha])
        return encode(rgba, fmt)
    frame = backdrop_of(backdrop, width, height) + np.array(cast, np.float32)
    out = frame * (1 - alpha[..., None]) + rgb * alpha[..., None]
    return encode(out, fmt)


def backdrop_of(kind: str, width: int, height: int) -> Any:
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    if kind == "white":
        return np.ones((height, width, 3), np.float32)
    if kind == "gradient":
        return np.broadcast_to(0.92 - 0.2 * ys, (height, width, 3)).copy()
    if kind == "dark":
        return np.broadcast_to(0.12 - 0.05 * ys, (height, width, 3)).copy()
    if kind == "table":
        rng = np.random.default_rng(7)
        mottle = cv2.resize(rng.random((12, 12)).astype(np.float32), (width, height))
        grain = rng.normal(0, 0.03, (height, width)).astype(np.float32)
        return np.repeat((0.45 + 0.15 * mottle + grain)[..., None], 3, axis=2)
    raise ValueError(kind)


def encode(pixels: Any, fmt: str = "PNG") -> bytes:
    data = (np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)
    image = Image.fromarray(data, "RGBA" if data.shape[2] == 4 else "RGB")
    out = io.BytesIO()
    (image.convert("RGB") if fmt == "JPEG" else image).save(out, fmt)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def alpha_box(image: Image.Image) -> tuple[float, float, float]:
    """(fill, centre x, centre y) of the solid alpha, as fractions of the frame."""
    alpha = np.asarray(image.getchannel("A")) > 127
    rows, cols = np.nonzero(alpha)
    left, right, top, bottom = cols.min(), cols.max() + 1, rows.min(), rows.max() + 1
    fill = max((right - left) / image.width, (bottom - top) / image.height)
    return float(fill), (left + right) / 2 / image.width, (top + bottom) / 2 / image.height


MIRROR_SIDE = 512
FLOOR = 270  # the row the drawn pendant stands on


def pendant_on_a_mirror() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photo, product, product and reflection): a blue stone in a gold setting on a grey
    mirror, standing on its band; under it, its mirror image, flipped about the band and
    faded towards the floor, which a model's map or a junky cut takes in."""
    product, mirrored = mirrored_pendant()
    noise = np.random.default_rng(2).normal(0, 0.01, (MIRROR_SIDE, MIRROR_SIDE, 1))
    rgb = (0.55 + noise).astype(np.float32)
    rgb = np.repeat(rgb, 3, axis=2)
    colour = np.empty_like(rgb)
    colour[:] = [0.35, 0.3, 0.85]
    colour[262 - 8 : 262 + 8] = GOLD  # the band's rows
    rgb[product] = colour[product]
    ys, xs = np.nonzero(mirrored)
    rgb[ys, xs] = 0.45 * colour[2 * FLOOR - ys, xs] + 0.55 * 0.55
    return rgb, product, product | mirrored


def mirrored_pendant() -> tuple[np.ndarray, np.ndarray]:
    """(the pendant: an oval stone, its bail and the band under it; its mirror image)."""
    ys, xs = np.mgrid[0:MIRROR_SIDE, 0:MIRROR_SIDE].astype(np.float32)
    stone = ((xs - 256) / 70) ** 2 + ((ys - 200) / 55) ** 2 < 1
    bail = (np.abs(xs - 256) < 10) & (ys > 110) & (ys < 150)
    band = (np.abs(ys - 262) < 8) & (np.abs(xs - 256) < 110)
    product = stone | bail | band
    mirrored = np.zeros_like(product)
    rows = np.arange(FLOOR, 2 * FLOOR - 110)
    mirrored[rows] = product[2 * FLOOR - rows]
    return product, mirrored


def cutout_of(mask: np.ndarray, rgb: np.ndarray | None = None) -> Any:
    """The cutter's Cutout of ``mask`` (a drawn segmentation), its colours from ``rgb``."""
    from agentic_image_gen.providers.local.cutout import Cutout

    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    height, width = mask.shape
    colours = np.zeros((*mask.shape, 3), np.float32) if rgb is None else rgb
    return Cutout(
        rgb=np.ascontiguousarray(colours[top:bottom, left:right]),
        alpha=mask[top:bottom, left:right].astype(np.float32),
        centre=((left + right) / 2 / width, (top + bottom) / 2 / height),
        extent=((right - left) / width, (bottom - top) / height),
        from_alpha_channel=False,
        segmenter="u2netp",
        origin=(int(left), int(top)),
        source_size=(width, height),
    )


def cut_with(monkeypatch: pytest.MonkeyPatch, cut: Any) -> None:
    """Every reference cut by ``cut(data, segmenter)`` (a drawn or damaged cut) for this test:
    nothing the process kept from another cut of the same photo is used (memo.py)."""
    from agentic_image_gen.providers.local import cutout, memo

    monkeypatch.setattr(cutout, "cut_out", cut)
    monkeypatch.setattr(memo, "KEPT", memo.Kept(0))


def _loopback(host: Any) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkBlocked(AssertionError):
    """A local-mode test tried to reach a non-loopback host."""


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection or name lookup beyond loopback fails the test (local mode is offline)."""
    real_connect = socket.socket.connect
    real_create = socket.create_connection
    real_lookup = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise NetworkBlocked(f"network access to {address!r} in an offline test")
        return real_connect(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(address[0]):
            raise NetworkBlocked(f"network access to {address!r} in an offline test")
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(host):
            raise NetworkBlocked(f"name lookup of {host!r} in an offline test")
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    yield
