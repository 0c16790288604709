"""The evaluator sees junk: what a cut keeps that is not the product caps the score."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from local_images import block_network, cut_with, cutout_of, encode, pendant_on_a_mirror  # noqa: F401

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import UnusableReference
from agentic_image_gen.core.types import (
    Background,
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    ImageSettings,
    ReferenceImage,
)
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.local.cutting import create_cutter
from agentic_image_gen.providers.local.junk import LIMIT, THROUGH, junk, small_reference
from agentic_image_gen.providers.local.studio import StudioGenerator, render
from agentic_image_gen.providers.local.technical import TechnicalEvaluator
from agentic_image_gen.providers.local.vocabulary import StudioSettings

SIDE = 512
SAMPLE_PHOTO = (Path(__file__).resolve().parent.parent / "examples" / "ring.jpg").read_bytes()
GOLD = np.array([0.85, 0.66, 0.25], np.float32)
SILVER = np.array([0.5, 0.5, 0.52], np.float32)
Scene = tuple[np.ndarray, np.ndarray, np.ndarray]  # (photo rgb, product mask, junky mask)


def _paint(rgb: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    rgb[mask] = colour


def ring_on_grained_wood() -> Scene:
    """A gold ring on wood whose dark grain lines run across the frame; the junky cut keeps
    three of them whole."""
    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.empty((SIDE, SIDE, 3), np.float32)
    rgb[:] = [0.62, 0.46, 0.3]
    rgb += rng.normal(0, 0.015, (SIDE, SIDE, 1)).astype(np.float32)
    lines = np.zeros((SIDE, SIDE), bool)
    for row in range(20, SIDE, 28):
        course = row + 6 * np.sin(xs / 90.0 + row)
        lines |= np.abs(ys - course) < 1.6
    _paint(rgb, lines, np.array([0.36, 0.25, 0.15], np.float32))
    r = np.hypot(xs - 256, ys - 256)
    ring = (r < 110) & (r > 80)
    _paint(rgb, ring, GOLD)
    kept = np.zeros_like(lines)
    for row in (48, 300, 440):  # three grain lines kept from edge to edge
        course = row + 6 * np.sin(xs / 90.0 + row)
        kept |= np.abs(ys - course) < 1.6
    return rgb, ring, ring | (kept & lines)


def pendant_with_its_shadow() -> Scene:
    """A gold pendant on a fine chain on a white sweep, casting a soft shadow down and to the
    right; the junky cut keeps the shadow's darker half."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.full((SIDE, SIDE, 3), 0.95, np.float32)
    disc = np.hypot(xs - 250, ys - 320) < 70
    shadow = cv2.GaussianBlur(np.roll(disc, (30, 30), axis=(0, 1)).astype(np.float32), (0, 0), 12)
    rgb *= 1 - 0.3 * shadow[..., None]
    chain = (np.abs(xs - 250 - 30 * np.sin(ys / 60.0)) < 2.5) & (ys < 260)
    product = disc | chain
    _paint(rgb, product, GOLD)
    return rgb, product, product | (shadow > 0.5)


def bead_with_a_tinted_shadow(face: tuple[float, float, float] | None = None) -> Scene:
    """A sea-glass bead on a pale grey-blue sweep, its cast shadow below it tinted by the
    glass (darker, a little cyan); the junky cut keeps the shadow's darker part. ``face``:
    the bead's lower part in another colour (a darker face or a dark part of the product)."""
    rng = np.random.default_rng(4)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.empty((SIDE, SIDE, 3), np.float32)
    rgb[:] = [0.78, 0.79, 0.83]
    rgb += rng.normal(0, 0.008, (SIDE, SIDE, 1)).astype(np.float32)
    bead = np.hypot(xs - 256, ys - 230) < 70
    cast = cv2.GaussianBlur(np.roll(bead, 14, axis=0).astype(np.float32), (0, 0), 8)
    rgb *= 1 - cast[..., None] * np.array([0.42, 0.3, 0.26], np.float32)  # red goes first
    _paint(rgb, bead, np.array([0.3, 0.66, 0.76], np.float32))
    if face is not None:
        _paint(rgb, bead & (ys > 250), np.array(face, np.float32))
    return rgb, bead, bead | ((cast > 0.5) & (ys > 230))


def wire_loops() -> Scene:
    """Three silver wire loops on a white sweep; the junky cut fills their insides."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.full((SIDE, SIDE, 3), 0.94, np.float32)
    loops = np.zeros((SIDE, SIDE), bool)
    filled = np.zeros_like(loops)
    for cx in (130, 256, 382):
        r = np.hypot(xs - cx, ys - 256)
        loops |= np.abs(r - 52) < 3
        filled |= r < 55
    _paint(rgb, loops, SILVER)
    return rgb, loops, filled


def earring_on_an_ear() -> Scene:
    """A gold bar earring worn in front of skin, on a black backdrop; the junky cut keeps a
    strip along the skin's edge, as a thin part would be kept."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.full((SIDE, SIDE, 3), 0.06, np.float32)
    edge = 300 + 40 * np.sin(ys / 80.0)  # the ear's and the neck's outline
    skin = xs > edge
    _paint(rgb, skin, np.array([0.85, 0.62, 0.52], np.float32))
    bar = (np.abs(xs - 250) < 12) & (ys > 120) & (ys < 400)
    _paint(rgb, bar, GOLD)
    strip = (xs > edge + 4) & (xs < edge + 10) & (ys > 40) & (ys < 470)  # just inside the skin
    return rgb, bar, bar | strip


SCENES: dict[str, tuple[Callable[[], Scene], str]] = {
    "grain lines": (ring_on_grained_wood, "lines"),
    "a kept shadow": (pendant_with_its_shadow, "shadow"),
    "a kept shadow tinted by glass": (bead_with_a_tinted_shadow, "shadow"),
    "loops filled": (wire_loops, "backdrop"),
    "a kept reflection": (pendant_on_a_mirror, "reflection"),
    "a strip of skin": (earring_on_an_ear, "edges"),
}


@pytest.mark.parametrize("name", list(SCENES))
def test_junk_kept_by_a_cut_is_found_and_named_and_a_clean_cut_is_clean(name: str) -> None:
    draw, kind = SCENES[name]
    rgb, product, junky = draw()
    clean = junk(small_reference(rgb), product)
    assert clean.clean, clean.shares
    found = junk(small_reference(rgb), junky)
    assert found.found[0] == kind, found.shares
    assert found.shares[kind] > 0.06


async def _judged(
    rgb: np.ndarray,
    mask: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
    background: Background = Background.TRANSPARENT,
) -> Any:
    """A shot of the cut ``mask`` of photo ``rgb``, judged against the photo: the studio's
    when the cut holds the product alone, else the same picture painted directly (as a
    generator that kept the junk would show it; the studio itself refuses such a cut)."""
    cut_with(monkeypatch, lambda data, segmenter: cutout_of(mask, rgb))
    ref = ReferenceImage("loops.png", encode(rgb), "image/png", 0, 0)
    prompt = "silver wire earrings, centered"
    settings = ImageSettings(background=background, size="512x512")
    async with AsyncExitStack() as stack:
        context = ProviderContext(RunConfig(prompt=prompt, refs=("loops.png",)), stack)
        studio = await StudioGenerator.create(context)
        evaluator = await TechnicalEvaluator.create(context)
        try:
            image = await studio.generate_image(GenerationRequest(prompt, settings, (ref,)))
        except UnusableReference:
            data, width, height = render(cutout_of(mask, rgb), StudioSettings(), settings)
            image = GeneratedImage(data, settings.output_format, width, height)
        return await evaluator.evaluate_image(
            EvaluationRequest(image, prompt, prompt, settings, (ref,))
        )


async def _studio_and_lock(rgb: np.ndarray, mask: np.ndarray) -> list[str]:
    """What the studio and a locked product's cutter say of the cut ``mask`` of ``rgb``:
    "ok" or the refusal's line, each."""
    ref = ReferenceImage("worn.png", encode(rgb), "image/png", 0, 0)
    prompt = "gold bar earring, centered"
    settings = ImageSettings(background=Background.TRANSPARENT, size="512x512")
    said: list[str] = []
    async with AsyncExitStack() as stack:
        context = ProviderContext(RunConfig(prompt=prompt, refs=("worn.png",)), stack)
        studio = await StudioGenerator.create(context)
        cutter = await create_cutter(context, None)
        for attempt in (
            lambda: studio.generate_image(GenerationRequest(prompt, settings, (ref,))),
            lambda: cutter.cut(ref, alone=True),
        ):
            try:
                await attempt()
                said.append("ok")
            except UnusableReference as exc:
                said.append(str(exc))
        await cutter.cut(ref)  # a cut to measure an image is taken as it comes
    return said


async def test_a_cut_that_keeps_what_the_product_is_worn_on_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The studio paints the cut and a locked product pastes it: a cut that keeps a strip
    of the ear would be in every image, so the photo is refused (exit 3) with one line
    naming what was kept; the clean cut of the same photo is used."""
    rgb, bar, junky = earring_on_an_ear()
    cut_with(monkeypatch, lambda data, segmenter: cutout_of(bar, rgb))
    assert await _studio_and_lock(rgb, bar) == ["ok", "ok"]
    cut_with(monkeypatch, lambda data, segmenter: cutout_of(junky, rgb))
    said = await _studio_and_lock(rgb, junky)
    assert said[0] == said[1] and "\n" not in said[0], said
    assert said[0].startswith("reference 'worn.png': the product could not be cut out alone: ")
    assert "thin strips of what lies beside the product" in said[0]


async def test_a_shot_that_keeps_backdrop_is_capped_and_the_critique_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rgb, loops, filled = wire_loops()
    clean = await _judged(rgb, loops, monkeypatch)
    assert clean.details["junk"]["clean"] is True, clean.details["junk"]
    assert "not the product" not in clean.feedback
    junky = await _judged(rgb, filled, monkeypatch)
    assert junky.details["junk"]["found"] == ["backdrop"]
    assert junky.score <= 60 < 85
    assert junky.feedback.startswith(f"Score {junky.score}/100. The shot shows what is not")
    assert "backdrop kept as product" in junky.feedback
    assert clean.score > junky.score


def drop_on_wood(patch: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photo, product, cut): a gold hook with a round drop on plain wood; with ``patch`` the
    cut keeps a patch of wood between hook and drop (under junk.LIMIT), as a coarse map does."""
    rng = np.random.default_rng(2)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.empty((SIDE, SIDE, 3), np.float32)
    rgb[:] = [0.72, 0.6, 0.45]
    rgb += rng.normal(0, 0.015, (SIDE, SIDE, 1)).astype(np.float32)
    drop = np.hypot(xs - 256, ys - 330) < 45
    wire = (np.abs(xs - 256) < 2.5) & (ys > 150) & (ys < 290)
    wire |= (np.abs(np.hypot(xs - 226, ys - 150) - 30) < 2.5) & (ys < 150)
    product = drop | wire
    _paint(rgb, product, GOLD)
    cut = product | ((xs > 258) & (xs < 281) & (ys > 260) & (ys < 292)) if patch else product
    return rgb, product, cut


def clear_glass_pendant() -> tuple[np.ndarray, np.ndarray]:
    """(photo, product): a clear glass pendant on plain wood; its window shows the wood, inside
    a pale rim the cut follows."""
    rng = np.random.default_rng(3)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.empty((SIDE, SIDE, 3), np.float32)
    rgb[:] = [0.72, 0.6, 0.45]
    rgb += rng.normal(0, 0.015, (SIDE, SIDE, 1)).astype(np.float32)
    product = (np.abs(xs - 256) < 90) & (np.abs(ys - 256) < 130)
    window = (np.abs(xs - 256) < 70) & (np.abs(ys - 256) < 110)
    _paint(rgb, product & ~window, np.array([0.93, 0.92, 0.9], np.float32))
    inside = window & ((xs - 256) ** 2 / 70**2 + (ys - 256) ** 2 / 110**2 > 0.25)
    _paint(rgb, window & ~inside, np.array([0.3, 0.45, 0.7], np.float32))  # a blue glass heart
    return rgb, product


def test_backdrop_the_outline_runs_through_is_measured_and_an_opening_is_not() -> None:
    """Wood kept between a hook and its drop goes on into the wood beside them: it is backdrop
    the cut's outline runs through, under the limit that makes a cut not clean. The wood a
    clear glass window shows is enclosed by the glass's rim: not run through."""
    rgb, product, cut = drop_on_wood(patch=True)
    kept = junk(small_reference(rgb), cut)
    assert kept.clean and kept.shares["backdrop"] < LIMIT, kept.shares
    assert THROUGH < kept.through < LIMIT and kept.dirt > 0.0
    assert junk(small_reference(rgb), product).through == 0.0
    glass, pendant = clear_glass_pendant()
    seen = junk(small_reference(glass), pendant)
    assert seen.shares["backdrop"] > 0.01 and seen.through == 0.0 and seen.dirt == 0.0


def hook_on_a_sweep() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photo, product, cut): a silver ear wire, edges blended into a white sweep, holding a
    gold drop; the cut keeps a strip of the sweep along one leg, 7 px wide (narrower than the
    broad patches' opening), as a coarse map keeps the sweep between a hook's legs."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    wire = (np.abs(xs - 236) < 2.5) & (ys > 110) & (ys < 300)
    wire |= (np.abs(xs - 276) < 2.5) & (ys > 110) & (ys < 220)
    wire |= (np.abs(np.hypot(xs - 256, ys - 110) - 20) < 2.5) & (ys <= 110)
    drop = np.hypot(xs - 236, ys - 340) < 42
    cover = cv2.GaussianBlur(wire.astype(np.float32), (0, 0), 0.8)[..., None]
    rgb = np.full((SIDE, SIDE, 3), 0.94, np.float32) * (1 - cover) + SILVER * cover
    _paint(rgb, drop, GOLD)
    product = (cover[..., 0] > 0.5) | drop
    strip = (xs > 239) & (xs < 247) & (ys > 130) & (ys < 290)
    return rgb, product, product | strip


def wire_with_its_blend(rgb: np.ndarray, product: np.ndarray) -> np.ndarray:
    """``product`` with every pixel of ``rgb`` off the white sweep (the wire's blended
    edges too, where the sweep shows through most of the pixel)."""
    return np.asarray(product | (np.abs(rgb - 0.94).max(axis=2) > 0.01), bool)


def test_a_strip_of_backdrop_kept_along_a_wire_is_measured_and_the_wire_is_not() -> None:
    """A strip of sweep kept along a wire, narrower than a broad patch but wider than an
    edge's blend, is backdrop the outline runs through; the wire, its blended edges and the
    drop alone are not."""
    rgb, product, cut = hook_on_a_sweep()
    photo = small_reference(rgb)
    assert junk(photo, cut).through > THROUGH
    assert junk(photo, product).through == 0.0
    assert junk(photo, wire_with_its_blend(rgb, product)).through == 0.0


async def test_a_cut_that_keeps_some_backdrop_does_not_pass_and_is_told_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rgb, product, cut = drop_on_wood(patch=True)
    clean = await _judged(rgb, product, monkeypatch)
    dirty = await _judged(rgb, cut, monkeypatch)
    assert dirty.details["junk"]["clean"] is True  # under the limit of a kind
    assert dirty.details["junk"]["through"] > THROUGH
    assert dirty.score < 85 and dirty.score < clean.score
    assert "outline running through it" in dirty.feedback
    assert "outline running through it" not in clean.feedback


def test_a_ring_standing_upright_is_not_its_own_reflection() -> None:
    """A gold ring seen face on is as symmetric as a reflection, but as bright below as above:
    no part of it is junk."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.full((SIDE, SIDE, 3), 0.55, np.float32)
    r = np.hypot(xs - 256, ys - 256)
    ring = (r < 120) & (r > 90)
    _paint(rgb, ring, GOLD)
    assert junk(small_reference(rgb), ring).shares["reflection"] == 0.0


async def test_an_opaque_shots_own_soft_shadow_is_not_kept_backdrop() -> None:
    """An opaque shot may lay its product on white with a soft shadow under it (the studio
    does): that shadow is the scene's, faint and broad, not backdrop the cut kept. Found on
    the sample ring (its photo stands on a grey floor), whose clean first shot was capped at
    76 for 3 % of backdrop "run through" and came within 0.1 % of the backdrop limit."""
    ref = ReferenceImage("ring.jpg", SAMPLE_PHOTO, "image/jpeg", 0, 0)
    prompt = "18k yellow gold ring with a blue sapphire, white seamless background, centered"
    settings = ImageSettings(background=Background.OPAQUE, size="1024x1024")
    async with AsyncExitStack() as stack:
        context = ProviderContext(RunConfig(prompt=prompt, refs=("ring.jpg",)), stack)
        studio = await StudioGenerator.create(context)
        evaluator = await TechnicalEvaluator.create(context)
        image = await studio.generate_image(GenerationRequest(prompt, settings, (ref,)))
        shot = await evaluator.evaluate_image(
            EvaluationRequest(image, prompt, prompt, settings, (ref,))
        )
    assert shot.details["junk"]["clean"] is True, shot.details["junk"]
    assert shot.details["junk"]["shares"]["backdrop"] < LIMIT / 2, shot.details["junk"]
    assert shot.details["junk"]["through"] <= THROUGH, shot.details["junk"]
    assert "outline running through it" not in shot.feedback


async def test_an_opaque_shot_still_shows_the_backdrop_its_cut_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Leaving an opaque shot's soft shadow out does not hide kept wood: a patch of wood
    between hook and drop is run through in an opaque shot as in a transparent one."""
    rgb, _, cut = drop_on_wood(patch=True)
    dirty = await _judged(rgb, cut, monkeypatch, Background.OPAQUE)
    assert dirty.details["junk"]["through"] > THROUGH, dirty.details["junk"]
    assert dirty.score < 85 and "outline running through it" in dirty.feedback


@pytest.mark.parametrize(
    "face",
    [
        (0.16, 0.42, 0.52),  # the bead's own darker face, as coloured as the rest of it
        (0.1, 0.15, 0.35),  # a dark blue stone
        (0.05, 0.05, 0.06),  # black enamel
        (0.3, 0.31, 0.33),  # oxidised silver
    ],
)
def test_a_dark_part_of_a_coloured_product_is_not_its_shadow(
    face: tuple[float, float, float],
) -> None:
    """A darker part of the product on its outline, over the product's own tinted shadow,
    is product: it keeps its colour, or is darker than any shadow, or is not tinted."""
    rgb, bead, _ = bead_with_a_tinted_shadow(face)
    found = junk(small_reference(rgb), bead)
    assert found.shares["shadow"] == 0.0 and found.clean, found.shares


def test_a_faintly_blue_silver_band_does_not_tint_its_shade() -> None:
    """A cool silver band (a faint blue, as the development rings show) darker at its lower
    edge (greyer there) is not a coloured product: that edge is not a tinted shadow."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rgb = np.full((SIDE, SIDE, 3), 0.97, np.float32)
    cast = cv2.GaussianBlur(
        (np.abs(np.hypot(xs - 256, ys - 270) - 100) < 18).astype(np.float32), (0, 0), 8
    )
    rgb *= 1 - 0.25 * cast[..., None]
    r = np.hypot(xs - 256, ys - 256)
    band = np.abs(r - 100) < 18
    _paint(rgb, band, np.array([0.8, 0.83, 0.88], np.float32))
    _paint(rgb, band & (ys > 330), np.array([0.7, 0.71, 0.74], np.float32))  # greyer
    assert junk(small_reference(rgb), band).shares["shadow"] == 0.0


async def test_a_kept_tinted_shadow_under_the_limit_lowers_the_score_and_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thin rim of the bead's tinted shadow kept by the cut (under junk.LIMIT) does not
    pass, and the critique says the shadow is kept."""
    rgb, bead, _ = bead_with_a_tinted_shadow()
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    rim = (np.hypot(xs - 256, ys - 235) < 70) & ~bead & (ys > 240)  # 5 px at most
    kept = junk(small_reference(rgb), bead | rim)
    assert THROUGH < kept.shares["shadow"] < LIMIT and kept.clean, kept.shares
    clean = await _judged(rgb, bead, monkeypatch)
    dirty = await _judged(rgb, bead | rim, monkeypatch)
    assert dirty.details["junk"]["shares"]["shadow"] > THROUGH, dirty.details["junk"]
    assert dirty.score < 85 and dirty.score < clean.score
    assert "the product's shadow" in dirty.feedback
    assert "the product's shadow" not in clean.feedback
