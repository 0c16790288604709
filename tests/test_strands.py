"""Thin parts on cloth: wires kept, their shadows not, bails joined. Every photo here is
drawn by the test: a woven backdrop, a product the "model" sees (the probability map given
to ``refine``) and the thin parts it does not."""

from __future__ import annotations

import cv2
import numpy as np
from local_images import cutout_of

from agentic_image_gen.pixels.product import largest_parts
from agentic_image_gen.providers.local.completeness import align, completeness, distinct
from agentic_image_gen.providers.local.cutout import Cutout
from agentic_image_gen.providers.local.segment.bridges import cheapest_path
from agentic_image_gen.providers.local.segment.matte import strand_alpha
from agentic_image_gen.providers.local.segment.refine import refine

SIDE = 600
PRODUCT_CENTRE, PRODUCT_RADIUS = (300, 380), 90
TEAL = (0.05, 0.45, 0.5)


def linen(seed: int = 0) -> np.ndarray:
    """A pale woven backdrop: a fine two-way weave, grain noise and a soft light fall-off."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    weave = 0.08 * np.sin(xs * 1.9) * np.sin(ys * 1.9)
    light = 0.78 + weave + 0.04 * (ys / SIDE) + rng.normal(0, 0.03, (SIDE, SIDE))
    return np.clip(np.dstack([light, light * 0.99, light * 0.96]), 0, 1).astype(np.float32)


def product(rgb: np.ndarray) -> np.ndarray:
    """An enamel disc on the photo; returns the model's map of it (the disc only)."""
    cv2.circle(rgb, PRODUCT_CENTRE, PRODUCT_RADIUS, TEAL, -1)
    prob = np.zeros((SIDE, SIDE), np.float32)
    cv2.circle(prob, PRODUCT_CENTRE, PRODUCT_RADIUS + 4, 1.0, -1)
    return prob


def wire_points() -> np.ndarray:
    """A hook: up from the disc's top and over in an arc, as an ear wire hangs."""
    angles = np.linspace(np.pi, 2.1 * np.pi, 80)
    xs = 380 + 80 * np.cos(angles)
    ys = 190 + 110 * np.sin(angles)
    start = np.array([[300, PRODUCT_CENTRE[1] - PRODUCT_RADIUS + 2], [300, 190]])
    return np.vstack([start, np.column_stack([xs, ys])]).astype(np.int32)


def test_a_silver_wire_on_linen_is_kept_and_its_cast_shadow_is_not() -> None:
    rgb = linen()
    prob = product(rgb)
    points = wire_points()
    shadow = points + np.array([7, 7])
    shade = np.zeros((SIDE, SIDE), np.float32)
    cv2.polylines(shade, [shadow], False, 1.0, 5)
    shade = cv2.GaussianBlur(shade, (0, 0), 1.5)  # soft, and the linen's own hue
    rgb *= (1.0 - 0.22 * shade)[..., None]
    cv2.polylines(rgb, [points], False, (0.5, 0.51, 0.54), 4)  # the wire's grey body
    cv2.polylines(rgb, [points - np.array([1, 1])], False, (0.97, 0.97, 0.98), 2)  # its glint
    alpha, _ = refine(rgb, prob)
    on_wire = [alpha[y, x] for x, y in points[5::6]]
    assert np.mean(np.array(on_wire) > 0.5) > 0.85, on_wire
    # The shadow, where it lies clear of the wire's own width, stays transparent.
    wire = np.zeros((SIDE, SIDE), np.uint8)
    cv2.polylines(wire, [points], False, 1, 4)
    clear = cv2.distanceTransform(1 - wire, cv2.DIST_L2, 3) > 6
    shade = [alpha[y, x] for x, y in shadow[8:] if clear[y, x]]
    assert len(shade) > 20 and np.mean(np.array(shade) < 0.5) > 0.9, shade
    assert alpha[60:120, 20:120].max() < 0.05  # the linen far away is untouched


def test_a_cord_is_joined_to_the_product_through_its_fine_bail() -> None:
    rgb = linen(seed=3)
    prob = product(rgb)
    top = PRODUCT_CENTRE[1] - PRODUCT_RADIUS
    cv2.line(rgb, (300, top - 2), (300, top - 45), (0.75, 0.6, 0.25), 2)  # the gold bail
    cord = np.array([[60, 60], [180, 200], [300, top - 45], [420, 200], [540, 60]], np.int32)
    cv2.polylines(rgb, [cord], False, (0.08, 0.08, 0.09), 12)  # a black leather cord
    alpha, _ = refine(rgb, prob)
    assert alpha[top - 90 : top - 60, 200:400].max() > 0.5  # the cord is there
    bail = alpha[top - 40 : top - 8, 297:304]
    assert (bail.max(axis=1) > 0.5).mean() > 0.8  # and hangs on the product by its bail


def test_the_cheapest_path_follows_the_faint_line() -> None:
    cost = np.full((40, 40), 5.0, np.float32)
    cost[5:35, 20] = 1.0  # a cheap corridor from top to bottom
    start = np.zeros((40, 40), bool)
    goal = np.zeros((40, 40), bool)
    start[2:5, 18:23] = True
    goal[35:38, 18:23] = True
    path = cheapest_path(cost, start, goal)
    assert path is not None
    assert all(x == 20 for _, x in path)
    assert cheapest_path(cost, start, np.zeros_like(goal)) is None


def test_a_long_thin_piece_apart_from_the_body_is_a_product_part() -> None:
    mask = np.zeros((200, 200), bool)
    mask[100:180, 60:140] = True  # the body
    mask[10:90, 30] = True  # a hook standing apart, 80 px long
    mask[5:7, 190:192] = True  # a speck
    kept = largest_parts(mask)
    assert kept[50, 30] and kept[150, 100] and not kept[5, 190]


def test_a_speck_the_shot_drops_does_not_shift_the_pose() -> None:
    alpha = np.zeros((200, 200), np.float32)
    alpha[60:160, 40:160] = 1.0
    alpha[2:6, 195:199] = 1.0  # a speck at the cut-out's corner, dropped by the shot's measure
    cut = Cutout(
        rgb=np.zeros((200, 200, 3), np.float32),
        alpha=alpha,
        centre=(0.5, 0.5),
        extent=(0.6, 0.5),
        from_alpha_channel=False,
        source_size=(200, 200),
    )
    shot = np.zeros((300, 300), bool)
    shot[75:225, 60:240] = True  # the body alone, scaled by 1.5
    aligned = align(shot, cut, (200, 200))
    assert aligned is not None and aligned[1] > 0.95


def test_a_strand_is_matted_from_its_colours_the_cloth_between_its_links_clear() -> None:
    rgb = linen(seed=5)
    lines = np.zeros((SIDE, SIDE), np.uint8)
    cv2.line(lines, (300, 50), (300, 550), 1, 3)
    cv2.line(lines, (308, 50), (308, 550), 1, 3)  # a double chain, linen 5 px between
    rgb[lines > 0] = (0.25, 0.27, 0.3)
    band = cv2.dilate(lines, np.ones((9, 9), np.uint8)) > 0  # a work-scale mask: one band
    clear = ~(cv2.dilate(lines, np.ones((25, 25), np.uint8)) > 0)
    matted = strand_alpha(rgb, band, lines > 0, clear, 41)
    assert matted is not None
    alpha, beside = matted
    assert alpha[100:500, 300].min() > 0.9 and alpha[100:500, 308].min() > 0.9
    assert np.median(alpha[100:500, 304]) < 0.2  # the linen between the two strands
    assert alpha[~band].max() == 0.0
    assert np.abs(beside[300, 304] - rgb[100:500, 200:250].mean(axis=(0, 1))).max() < 0.05
    faint = linen(seed=5)
    faint[lines > 0] *= 0.98  # a strand no clearer than the weave: colour cannot decide
    assert strand_alpha(faint, band, lines > 0, clear, 41) is None


def test_a_reflection_under_the_product_is_not_a_lost_part_but_a_torn_band_is() -> None:
    from agentic_image_gen.providers.local.completeness import _mirror_image

    placed = np.zeros((200, 200), np.uint8)
    cv2.ellipse(placed, (100, 80), (60, 40), 0, 0, 360, 1, 8)  # a ring, seen from the front
    reflection = np.zeros_like(placed)
    # The ring stands on a glossy floor at its lowest row (80 + 40 + 4): its mirror image
    # below, flipped about that row, of which the floor shows the nearer half.
    cv2.ellipse(reflection, (100, 2 * 124 - 80), (60, 40), 0, 180, 360, 1, 8)
    reflection[:125] = 0
    assert _mirror_image(reflection > 0, placed > 0)
    torn = placed.copy()
    torn[100:130] = 0  # the ring's lower band is lost
    band = (placed > 0) & ~(torn > 0)
    assert not _mirror_image(band, torn > 0)


def test_a_loop_broken_at_a_glint_is_closed_when_both_halves_hang_on_the_product() -> None:
    from agentic_image_gen.providers.local.segment.bridges import join

    product = np.zeros((120, 120), np.uint8)
    product[80:110, 30:90] = 1
    loop = np.zeros_like(product)
    cv2.ellipse(loop, (60, 80), (25, 50), 0, 180, 360, 1, 2)  # a hook's loop over the product
    strength = np.where(loop > 0, 4.0, 0.0).astype(np.float32)  # line-like all along
    pieces = loop.copy()
    pieces[26:40, 50:70] = 0  # broken at its top, where the wire is a white glint
    joined = join(
        product > 0, pieces > 0, strength, touch=5, reach=40, always=np.zeros((120, 120), bool)
    )
    assert joined[30, 60]  # the top of the loop is drawn again
    assert not joined[60, 60]  # and nothing across its inside


def test_the_rod_the_earrings_hang_on_is_not_a_lost_part_but_a_lost_hook_is() -> None:
    """Two gold earrings hang by their hooks on a grey rod that crosses the whole frame on a
    white sweep: the cut that keeps the earrings only is whole; one that lost a hook is not."""
    rgb = np.full((400, 600, 3), 0.93, np.float32)
    rod = np.zeros((400, 600), np.uint8)
    rod[90:120] = 1
    rgb[rod > 0] = 0.4
    earrings = np.zeros((400, 600), np.uint8)
    for x in (200, 400):
        cv2.ellipse(earrings, (x, 105), (14, 30), 0, 0, 360, 1, 4)  # the hook over the rod
        cv2.line(earrings, (x, 135), (x, 200), 1, 4)
        cv2.circle(earrings, (x, 250), 50, 1, -1)  # the leaf
    rgb[earrings > 0] = (0.8, 0.62, 0.25)
    seen = distinct(rgb)
    cut = cutout_of(earrings > 0)
    solid = largest_parts(cut.alpha > 0.5)
    whole = completeness(solid, cut, seen)
    assert whole is not None and whole.whole, whole
    hookless = earrings.copy()
    hookless[:200, 380:420] = 0  # the right earring lost its hook and wire
    broken = completeness(hookless[cut.origin[1] :, cut.origin[0] :] > 0, cut, seen)
    assert broken is not None and not broken.whole, broken
