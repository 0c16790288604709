"""The pixel package, measure by measure, on images drawn here: boxes, alpha, the backdrop
model, the product, encoding, colour and similarity."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from agentic_image_gen.pixels.alpha import cleared, uses_alpha
from agentic_image_gen.pixels.backdrop import backdrop_model, border_colour, plain
from agentic_image_gen.pixels.boxes import box, fill, framing
from agentic_image_gen.pixels.decode import decode
from agentic_image_gen.pixels.encode import encode
from agentic_image_gen.pixels.opening import SWEPT, opened
from agentic_image_gen.pixels.product import product_mask, product_weight
from agentic_image_gen.pixels.similarity import delta_e, luminance, ssim

SIDE = 200


def disc(backdrop: np.ndarray) -> np.ndarray:
    """A dark red disc of radius 40 centred at (120, 90) on ``backdrop``."""
    image = backdrop.copy()
    cv2.circle(image, (120, 90), 40, (0.5, 0.1, 0.1), -1)
    return image


def png(pixels: np.ndarray) -> bytes:
    return encode(pixels, "png")


@pytest.mark.parametrize("diameter", [3, 11, SWEPT, 51, 113])
def test_an_opening_by_distances_is_opencvs_and_drops_thin_parts(diameter: int) -> None:
    """The same opening as OpenCV's disc (but for a handful of rim pixels, where the two
    round the disc differently), whatever the disc's size: the wires go, the body stays."""
    ys, xs = np.mgrid[0:600, 0:800]
    mask = (ys - 300) ** 2 + (xs - 350) ** 2 < 150**2  # the body
    mask[40:560, 600:604] = True  # a wire, 4 px wide
    mask[100:103, 20:780] = True  # ... and one across
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (diameter, diameter))
    theirs = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disc) > 0
    ours = opened(mask, diameter)
    assert int((ours ^ theirs).sum()) <= 0.001 * int(theirs.sum())
    assert ours[300, 350] and ours[300, 201]
    assert ours[300, 601] == (diameter <= 3) and ours[101, 50] == (diameter <= 3)
    assert not opened(mask, 400).any()  # no disc that wide fits


def test_a_box_is_exclusive_and_follows_the_threshold() -> None:
    alpha = np.zeros((SIDE, SIDE), np.float32)
    alpha[20:60, 30:90] = 1.0
    alpha[100, 150] = 0.3  # a faint speck: edge, not body
    assert box(alpha) == (30, 20, 90, 60)
    assert box(alpha, 0.0) == (30, 20, 151, 101)
    assert box(alpha > 2) is None and box(np.zeros((5, 5), np.float32)) is None
    assert fill(box(alpha), alpha.shape) == pytest.approx(0.3)
    assert framing(alpha > 0.5) == (pytest.approx(0.3), pytest.approx(0.3))


def test_an_alpha_channel_is_transparency_only_below_the_opaque_level() -> None:
    assert not uses_alpha(None)
    assert not uses_alpha(np.full((4, 4), 0.99, np.float32))
    assert uses_alpha(np.array([[1.0, 0.5]], np.float32))
    assert cleared(np.array([0.01, 0.03, 0.5], np.float32)).tolist() == pytest.approx(
        [0, 0.03, 0.5]
    )


@pytest.mark.parametrize("kind", ["flat", "vertical", "floor and wall", "vignette"])
def test_the_backdrop_model_follows_studio_sweeps_and_finds_the_product(kind: str) -> None:
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32) / SIDE
    tone = {
        "flat": np.full((SIDE, SIDE), 0.95, np.float32),
        "vertical": 0.95 - 0.25 * ys,
        "floor and wall": np.where(ys < 0.7, 0.85, 0.55),
        "vignette": 0.95 - 0.3 * ((xs - 0.5) ** 2 + (ys - 0.5) ** 2),
    }[kind]
    backdrop = np.repeat(tone[..., None], 3, axis=2).astype(np.float32)
    model = backdrop_model(backdrop)
    assert plain(backdrop, model)
    away_from_horizon = np.abs(ys - 0.7) > 0.05
    assert np.abs(model - backdrop).max(axis=2)[away_from_horizon].max() < 0.03
    image = decode(png(disc(backdrop)))
    body = product_mask(image)
    assert box(body) == pytest.approx((80, 50, 161, 131), abs=2)
    weight = product_weight(image)
    assert weight[90, 120] == 1.0 and weight[10, 10] == 0.0
    if kind == "flat":  # the product in the middle leaves the backdrop's colour alone
        assert np.allclose(border_colour(disc(backdrop)), 0.95)


def test_a_busy_scene_is_not_plain() -> None:
    noise = np.random.default_rng(1).random((SIDE, SIDE, 3)).astype(np.float32)
    assert not plain(noise, backdrop_model(noise))


def test_a_transparent_image_says_where_the_product_is_by_its_alpha() -> None:
    rgba = np.zeros((SIDE, SIDE, 4), np.float32)
    cv2.circle(rgba, (100, 100), 30, (0.2, 0.3, 0.4, 1.0), -1)
    image = decode(png(rgba))
    assert image.transparent and image.format == "PNG"
    assert box(product_mask(image)) == (70, 70, 131, 131)
    assert np.array_equal(product_weight(image), image.alpha)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_each_format_encodes_what_it_says(fmt: str) -> None:
    rgba = np.zeros((64, 48, 4), np.float32)
    rgba[..., 0], rgba[..., 3] = 0.8, 1.0
    rgba[:10, :10, 3] = 0.0
    data = encode(rgba, fmt, srgb=True)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == fmt.upper() and image.size == (48, 64)
        assert image.info.get("icc_profile")
        assert ("A" in image.mode) == (fmt != "jpeg")
        assert abs(int(np.asarray(image.convert("RGB"))[32, 24, 0]) - 204) <= 3
    assert Image.open(io.BytesIO(encode(rgba, "png", quick=True))).format == "PNG"


def test_ssim_is_one_for_the_same_detail_and_falls_with_noise() -> None:
    rng = np.random.default_rng(2)
    grey = cv2.GaussianBlur(rng.random((96, 96)).astype(np.float32), (0, 0), 2)
    weight = np.ones_like(grey)
    assert ssim(grey, grey, weight) == pytest.approx(1.0)
    noisy = np.clip(grey + rng.normal(0, 0.1, grey.shape).astype(np.float32), 0, 1)
    assert ssim(grey, noisy, weight) < 0.8
    assert ssim(grey, noisy, np.zeros_like(grey)) == 0.0


def test_delta_e_is_cie76_in_lab() -> None:
    grey = np.full((8, 8, 3), 0.5, np.float32)
    everywhere = np.ones((8, 8), bool)
    assert delta_e(grey, grey, everywhere) == pytest.approx(0.0)
    # Pure black to pure white is L 0 to L 100.
    black, white = np.zeros_like(grey), np.ones_like(grey)
    assert delta_e(black, white, everywhere) == pytest.approx(100.0, abs=0.1)
    gold = grey * np.array([1.6, 1.2, 0.4], np.float32)
    rose = gold * np.array([1.05, 0.8, 0.9], np.float32)
    assert delta_e(gold, rose, everywhere) > 8
    assert delta_e(gold, rose, ~everywhere) is None
    assert luminance(white)[0, 0] == pytest.approx(1.0)
