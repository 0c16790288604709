"""A part in shade on cloth is told from a shadow by the cloth's weave. Every photo here is
drawn by the test: woven linen, a coloured stone set in a hammered silver plate whose rim
lies in the stone's shade (darker than the linen by what a shadow darkens it, and no more
coloured), and the pendant's cast shadow on the linen beside it (as dark, the weave still
showing through)."""

from __future__ import annotations

import cv2
import numpy as np
from local_images import cutout_of

from agentic_image_gen.pixels.alpha import solid
from agentic_image_gen.pixels.shrink import within
from agentic_image_gen.pixels.weave import weave
from agentic_image_gen.providers.local.completeness import (
    WORK_SIDE,
    completeness,
    distinct,
    distinct_in,
)
from agentic_image_gen.providers.local.segment.background import difference

HEIGHT, WIDTH = 768, 1024
CENTRE, STONE, RIM = (560, 400), 110, 140  # the pendant's centre, its stone's and plate's radii
PERIOD = 9.0  # px: the linen's weave


def hammered(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Dimpled metal: smoothed noise with no direction and no period."""
    return cv2.GaussianBlur(rng.normal(0.0, 0.09, shape).astype(np.float32), (0, 0), 1.5)


def photo() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rgb, stone, rim, shadow): the drawn photo and its parts' masks."""
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    turn = 2 * np.pi / PERIOD
    light = 0.8 + 0.09 * np.sin(xs * turn) * np.sin(ys * turn) + rng.normal(0, 0.02, xs.shape)
    stone, rim, shadow = (np.zeros((HEIGHT, WIDTH), np.uint8) for _ in range(3))
    cv2.circle(stone, CENTRE, STONE, 1, -1)
    cv2.circle(rim, CENTRE, RIM, 1, -1)
    rim &= 1 - stone
    cv2.ellipse(shadow, (CENTRE[0] - RIM, CENTRE[1] + 60), (90, 40), 20, 0, 360, 1, -1)
    shadow &= 1 - rim - stone
    # The shadow darkens the linen and keeps its weave; the rim is as dark, and dimpled.
    light = np.where(shadow > 0, light * 0.7, light)
    light = np.where(rim > 0, 0.56 + hammered(rng, xs.shape), light)
    rgb = np.dstack([light * 0.98, light * 0.99, light])
    rgb[stone > 0] = (0.55, 0.45, 0.75)  # the stone
    rgb = rgb.clip(0, 1).astype(np.float32)
    return rgb, stone > 0, rim > 0, shadow > 0


def test_the_weave_shows_on_the_linen_and_through_the_shadow_but_not_on_the_rim() -> None:
    rgb, stone, rim, shadow = photo()
    backdrop = ~(stone | rim | shadow)
    share = weave(rgb, backdrop)
    assert share is not None and share.shape == backdrop.shape
    linen = float(np.median(share[backdrop]))
    assert linen > 0.3, linen
    assert float(np.median(share[shadow])) > 0.6 * linen
    assert float(np.median(share[rim])) < 0.3 * linen


def test_a_studio_sweep_has_no_weave() -> None:
    rng = np.random.default_rng(1)
    sweep = (0.93 + rng.normal(0, 0.01, (HEIGHT, WIDTH, 3))).astype(np.float32)
    assert weave(sweep, np.ones((HEIGHT, WIDTH), bool)) is None


def test_a_cut_that_loses_the_shaded_rim_is_not_whole_and_one_that_leaves_the_shadow_is() -> None:
    """The evaluator's own look sees the rim only by its missing weave: by colour alone, the
    cut that lost it would be judged whole."""
    rgb, stone, rim, _ = photo()
    seen = distinct(rgb)
    by_colour = distinct_in(difference(within(rgb, WORK_SIDE)[0]))
    whole_cut = cutout_of(stone | rim)
    whole = completeness(solid(whole_cut.alpha), whole_cut, seen)
    assert whole is not None and whole.whole, whole  # the shadow beside it is no lost part
    rimless = cutout_of(stone)
    lost = completeness(solid(rimless.alpha), rimless, seen)
    assert lost is not None and not lost.whole and lost.missing > 0.1, lost
    blind = completeness(solid(rimless.alpha), rimless, by_colour)
    assert blind is not None and blind.whole, blind
