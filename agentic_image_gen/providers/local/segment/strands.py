"""Thin parts of a product that a saliency model misses: chains, cords, hooks, bails.

A strand stands out from the backdrop right beside it (a morphological line response on the
lightness, smoothed so a fabric's weave fades first), is long, thin and solid (weave leaves
scattered, speckled clusters), and hangs on the product: a short one touches it, a long one
(a cord) may start a little away, past a loop too fine to see. A strand that only hugs the
outline and is a little darker than the backdrop is the product's shadow or reflection.

On a flat studio sweep a strand's step is measured in the border's spreads. On cloth, wood or
stone that unit grows with the texture until a silver wire on linen no longer counts, so there
the step is measured against the photo's own line responses instead (median and MAD: the
texture's lines are the many, a strand's the few), with hysteresis: a strand has a strong core
(``STRONG`` deviations) and may continue through weaker stretches (``WEAK``), where a highlight
or a shadow interrupts it.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.providers.local.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.providers.local.segment.background import Difference
from agentic_image_gen.providers.local.segment.masks import components

THIN_CHROMA = 6.0  # a coloured strand (gold chain, leather) on a neutral backdrop
LINE_STEP = 3.0  # a line this much darker or lighter than beside it (border spreads)
NOT_BACKDROP = 2.5  # a strand pixel differs from the backdrop itself at least this much
STRAND = 0.035  # the widest strand (a leather cord), of the frame's longer side
SMOOTH = 1.5  # px at work scale: finer than any strand, coarser than a weave
DENSE = 0.6  # share of its 3x3 neighbourhood a strand pixel's own kind fills
SOLID = 0.8  # share of a strand's closed shape that its own pixels cover
SHORT, LONG = 0.04, 0.15  # strand lengths (box diagonal, of the frame) to touch / to bridge
TOUCH = 0.012  # how close (of the frame) a short strand must come to the product
BRIDGE = 0.2  # how far (of the frame) a long strand may start from the product
HUG = 0.4  # a strand reaching no farther from the product than this share of its length hugs it
SHADOW_REACH = 0.06  # ... and, on cloth or wood, no farther than this share of the frame
DARK = 40.0  # Lab lightness below the backdrop that a soft shadow does not reach
TEXTURED = 3.0  # the backdrop's lightness spread (Lab) above which it is cloth, wood, stone
WEAK, STRONG = 3.0, 6.0  # robust deviations of a textured photo's line responses
ORIENTATIONS = 12


def _line_responses(lightness: FloatImage, width: int) -> tuple[FloatImage, FloatImage]:
    """(dark, light) top-hats: how much darker or lighter than beside it each pixel is."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    # Smoothed first: a fabric's weave is finer than any strand and fades, a cord does not.
    light = f32(cv2.GaussianBlur(lightness, (0, 0), SMOOTH))
    dark_line = f32(cv2.morphologyEx(light, cv2.MORPH_CLOSE, kernel)) - light
    light_line = light - f32(cv2.morphologyEx(light, cv2.MORPH_OPEN, kernel))
    return dark_line, light_line


def _above_texture(response: FloatImage, deviations: float) -> Mask:
    """Where ``response`` stands ``deviations`` robust deviations above the photo's typical."""
    median = float(np.median(response))
    spread = 1.4826 * float(np.median(np.abs(response - median))) + 1.0
    return np.asarray(response > median + deviations * spread)


def _line_kernels(length: int, count: int = ORIENTATIONS) -> list[FloatImage]:
    """Straight segments ``length`` px long at ``count`` orientations, each summing to 1."""
    centre = length // 2
    steps = np.linspace(-centre, centre, 4 * length)
    kernels = []
    for angle in np.arange(count) * np.pi / count:
        kernel = np.zeros((length, length), np.float32)
        xs = np.rint(centre + steps * np.cos(angle)).astype(int)
        ys = np.rint(centre + steps * np.sin(angle)).astype(int)
        kernel[ys, xs] = 1.0
        kernels.append(f32(kernel / kernel.sum()))
    return kernels


def _oriented(lightness: FloatImage, length: int) -> tuple[FloatImage, FloatImage]:
    """(dark, light) line-operator responses: the best straight segment's mean against its
    square's mean. A wire or a cord is a line along its length; a weave, a grain cluster or
    a petal is not, whichever way one looks."""
    square = f32(cv2.blur(lightness, (length, length)))
    means = np.stack([cv2.filter2D(lightness, -1, k) for k in _line_kernels(length)])
    return f32(square - means.min(axis=0)), f32(means.max(axis=0) - square)


def thin_lines(diff: Difference, width: int) -> Mask:
    """Lines up to ``width`` px wide that stand out from their own surroundings: a chain or a
    cord is darker or lighter than the backdrop right beside it, a fold or a shadow is not."""
    coloured = diff.chroma > THIN_CHROMA
    if diff.texture < TEXTURED:
        dark_line, light_line = _line_responses(diff.lighter, width)
        return (dark_line > LINE_STEP) | (light_line > LINE_STEP) | coloured
    local = np.zeros(diff.delta_l.shape, bool)
    for response in _line_responses(diff.delta_l, width):
        local |= _above_texture(response, WEAK)
    along = np.zeros_like(local)
    lightness = f32(cv2.GaussianBlur(diff.delta_l, (0, 0), 1.0))
    for response in _oriented(lightness, width + 4):
        along |= _above_texture(response, STRONG)
    # The segment's response peaks on a strand's centre line; the strand is as wide as its
    # local step says.
    reach = max(3, width // 4) | 1
    along = cv2.dilate(u8(along), np.ones((reach, reach), np.uint8)) > 0
    return (local & along) | coloured


def _strands(candidates: Mask, width: int, reach: int) -> Mask:
    """Candidate pieces shaped like a strand: long (their box's diagonal at least ``reach``),
    thin (area over length at most ``2 * width``) and solid (dense pixels that cover most of
    their closed shape; a weave's are scattered). Returned closed, so a cord has no gaps."""
    dense = f32(cv2.boxFilter(candidates.astype(np.float32), -1, (3, 3))) >= DENSE
    candidates = candidates & dense
    closed = cv2.morphologyEx(u8(candidates), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0
    count, labels, stats = components(closed)
    if count <= 1:
        return candidates
    solid = np.bincount(labels[candidates], minlength=count)[1:]
    area = stats[1:, cv2.CC_STAT_AREA]
    length = np.hypot(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    keep = (length >= reach) & (area <= 2 * width * length) & (solid >= SOLID * area)
    return closed & np.isin(labels, 1 + np.flatnonzero(keep))


def _touching(strands: Mask, hard: Mask, reach: int) -> Mask:
    """The strands that come within ``reach`` px of the product."""
    grown = cv2.dilate(u8(hard), np.ones((reach, reach), np.uint8)) > 0
    _, labels, _ = components(strands | grown)
    attached = np.unique(labels[hard])
    return strands & np.isin(labels, attached[attached > 0])


def _not_shadows(strands: Mask, hard: Mask, diff: Difference) -> Mask:
    """Drop strands that hug the product's outline and are only a little darker than the
    backdrop: its contact shadow or reflection. Strands that reach away from the product
    (cords, chains, hooks), or are lighter, coloured or very dark (a bezel's rim), stay."""
    count, labels, stats = components(strands)
    if count <= 1:
        return strands
    flat = labels.ravel()
    area = np.maximum(stats[1:, cv2.CC_STAT_AREA], 1)
    length = np.hypot(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    away = f32(cv2.distanceTransform(u8(~hard), cv2.DIST_L2, 3))
    farthest = np.zeros(count, np.float32)
    np.maximum.at(farthest, flat, away.ravel())
    step = np.bincount(flat, diff.delta_l.ravel(), count)[1:] / area
    colour = np.bincount(flat, diff.chroma.ravel(), count)[1:] / area
    # A shadow lies along the outline; a hook's loop may come back to the product but reaches
    # well away from it on the way. A mirror-like sweep reflects the whole product, as far as
    # it is tall; cloth or wood reflects nothing.
    reach = HUG * length
    if diff.texture >= TEXTURED:
        reach = np.minimum(reach, SHADOW_REACH * max(hard.shape))
    shadow = (farthest[1:] < reach) & (step < 0) & (step > -DARK) & (colour < THIN_CHROMA)
    return strands & np.isin(labels, 1 + np.flatnonzero(~shadow))


def add_thin_parts(hard: Mask, diff: Difference) -> Mask:
    """Add thin structures that clearly stand out and hang on the product (chains, cords,
    hooks, bails). Short ones must touch it; a long one (a cord) may start a little away,
    past a clasp or a loop too fine to see."""
    side = max(hard.shape)
    width = max(7, round(STRAND * side) | 1)
    # Only what differs from the backdrop itself: a gap between two dark bands is a bright
    # line locally, but it is the backdrop.
    lines = thin_lines(diff, width) & ~hard
    if diff.texture < TEXTURED:
        lines &= diff.any > NOT_BACKDROP
    short = _strands(lines, width, round(SHORT * side)) & ~hard
    if not short.any():
        return hard
    long = _strands(short, width, round(LONG * side))
    touch = max(3, round(TOUCH * side)) | 1  # the outline was trimmed: a loop may be just off it
    found = _touching(short, hard, touch) | _touching(long, hard, round(BRIDGE * side) | 1)
    return hard | _not_shadows(found, hard, diff)
