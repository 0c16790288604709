"""Thin parts of a product that a saliency model misses: chains, cords, hooks, bails.

A strand stands out from the backdrop right beside it (a morphological line response on the
lightness, smoothed so a fabric's weave fades first), is long, thin and solid (weave leaves
scattered, speckled clusters), and hangs on the product: a short one touches it, a long one
(a cord) may start a little away, past a loop too fine to see. A strand that only hugs the
outline and is a little darker than the backdrop is the product's shadow or reflection.

On a flat studio sweep a strand's step is measured in the border's spreads. On cloth, wood or
stone that unit grows with the texture until a silver wire on linen no longer counts, so there
the step is measured against the photo's own line responses instead (median and MAD: the
texture's lines are the many, a strand's the few): a pixel counts when its local step stands
``WEAK`` deviations out and it lies on the course of a straight-segment response ``STRONG``
deviations out (a wire is a line along its length; weave, grain clusters and petals are not).
Dark and light lines are found apart, so a dark line running beside a light one in the
backdrop's hue can be told for the wire's cast shadow. The pieces then keep the strand's own
colour (a petal or linen caught at the edge is shed), and pieces join the product, or one
another, along the cheapest line-like path (bridges.py).
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.providers.local.segment.background import Difference, local_backdrop
from agentic_image_gen.providers.local.segment.bridges import join
from agentic_image_gen.providers.local.segment.masks import components
from agentic_image_gen.providers.local.segment.parameters import (
    BRIDGE,
    DARK,
    DENSE,
    HUG,
    JOIN,
    LINE_STEP,
    LONG,
    NOT_BACKDROP,
    ORIENTATIONS,
    SHADOW_GAP,
    SHADOW_REACH,
    SHADOW_SHARE,
    SHORT,
    SOLID,
    STRAND,
    STRONG,
    THIN_CHROMA,
    TOUCH,
    UNLIKE_BACKDROP,
    WEAK,
)
from agentic_image_gen.providers.local.segment.parameters import (
    STRAND_SMOOTH as SMOOTH,
)


def _line_responses(lightness: FloatImage, width: int) -> tuple[FloatImage, FloatImage]:
    """(dark, light) top-hats: how much darker or lighter than beside it each pixel is."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    # Smoothed first: a fabric's weave is finer than any strand and fades, a cord does not.
    light = f32(cv2.GaussianBlur(lightness, (0, 0), SMOOTH))
    dark_line = f32(cv2.morphologyEx(light, cv2.MORPH_CLOSE, kernel)) - light
    light_line = light - f32(cv2.morphologyEx(light, cv2.MORPH_OPEN, kernel))
    return dark_line, light_line


def _deviations(response: FloatImage) -> FloatImage:
    """``response`` in robust deviations (median, MAD) above the photo's typical; the two
    medians are taken on every third pixel each way, which moves them by a hair at a ninth
    of the cost."""
    sample = response[::3, ::3]
    median = float(np.median(sample))
    spread = 1.4826 * float(np.median(np.abs(sample - median))) + 1.0
    return f32((response - median) / spread)


def _above_texture(response: FloatImage, deviations: float) -> Mask:
    """Where ``response`` stands ``deviations`` robust deviations above the photo's typical."""
    return np.asarray(_deviations(response) > deviations)


def _steps(diff: Difference, width: int) -> tuple[FloatImage, FloatImage]:
    """(dark, light) local steps of the lightness, in deviations of the photo's own."""
    dark, light = _line_responses(diff.delta_l, width)
    return _deviations(dark), _deviations(light)


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


def thin_lines(
    diff: Difference, width: int, steps: tuple[FloatImage, FloatImage] | None = None
) -> Mask:
    """Lines up to ``width`` px wide that stand out from their own surroundings: a chain or a
    cord is darker or lighter than the backdrop right beside it, a fold or a shadow is not.
    ``steps`` (``_steps``), when the caller has them, saves computing them again."""
    coloured = diff.chroma > THIN_CHROMA
    if not diff.textured:
        dark_line, light_line = _line_responses(diff.lighter, width)
        return (dark_line > LINE_STEP) | (light_line > LINE_STEP) | coloured
    lightness = f32(cv2.GaussianBlur(diff.delta_l, (0, 0), 1.0))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    found: list[Mask] = []
    for local, along in zip(
        steps or _steps(diff, width), _oriented(lightness, width + 4), strict=True
    ):
        # The segment's response runs along a wire, or along both edges of a wide cord:
        # closed across a strand's width it covers the cord's body too, and the local step
        # then says which pixels are the strand, not the weave beside it.
        near = cv2.dilate(u8(_above_texture(along, STRONG)), np.ones((3, 3), np.uint8))
        course = np.asarray(cv2.morphologyEx(near, cv2.MORPH_CLOSE, disc) > 0)
        found.append((local > WEAK) & course)
    dark, light = found
    return light | (dark & ~_cast_shadow(dark, light, diff, width)) | coloured


def _cast_shadow(dark: Mask, light: Mask, diff: Difference, width: int) -> Mask:
    """The dark lines a lit wire casts on cloth or wood: each runs beside a light line (most
    of it within a strand's width of one, but not against it), in the backdrop's own hue and
    not near black. The wire's own dark side, right against its highlight, stays; so does a
    dark wire with only a glint here and there."""
    if not light.any():
        return np.zeros_like(dark)
    away = f32(cv2.distanceTransform(u8(~light), cv2.DIST_L2, 3))
    beside = (away > SHADOW_GAP) & (away <= width)
    plain = (diff.chroma < THIN_CHROMA) & (diff.delta_l > -DARK)
    count, labels, stats = components(dark & ~light)
    if count <= 1:
        return np.zeros_like(dark)
    flat = labels.ravel()
    area = np.maximum(stats[1:, cv2.CC_STAT_AREA], 1)
    near = np.bincount(flat, beside.ravel(), count)[1:] / area
    shade = np.bincount(flat, plain.ravel(), count)[1:] / area
    shadows = (near >= SHADOW_SHARE) & (shade >= SHADOW_SHARE)
    return np.isin(labels, 1 + np.flatnonzero(shadows)) & beside


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
    if diff.textured:
        reach = np.minimum(reach, SHADOW_REACH * max(hard.shape))
    shadow = (farthest[1:] < reach) & (step < 0) & (step > -DARK) & (colour < THIN_CHROMA)
    return strands & np.isin(labels, 1 + np.flatnonzero(~shadow))


def _beside(strands: Mask, hard: Mask, diff: Difference, width: int) -> FloatImage:
    """The backdrop right beside each pixel ((L, a, b) offsets in border spreads): the photo
    blurred over the backdrop alone, product and strands left out."""
    backdrop = ~(hard | (cv2.dilate(u8(strands), np.ones((3, 3), np.uint8)) > 0))
    return local_backdrop(diff.offset, backdrop, 2 * width + 1)


def _own_colour(strands: Mask, beside: FloatImage, diff: Difference, width: int) -> Mask:
    """Each strand's pixels that look more like the strand (its median colour) than like the
    backdrop beside them: a black cord sheds the petal caught at its edge, a silver wire the
    linen or the grain beside it. A part of another colour within the strand's own course (a
    gold ring on a cord, a highlight on a wire) stays when it is nothing like the backdrop."""
    count, labels, _ = components(strands)
    own = np.zeros_like(strands)
    unlike = np.zeros_like(strands)
    for label in range(1, count):
        piece = labels == label
        pixels = diff.offset[piece]
        to_own = np.linalg.norm(pixels - np.median(pixels, axis=0), axis=1)
        to_backdrop = np.linalg.norm(pixels - beside[piece], axis=1)
        own[piece] = to_own <= to_backdrop
        unlike[piece] = to_backdrop > UNLIKE_BACKDROP
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width // 2 | 1, width // 2 | 1))
    course = cv2.morphologyEx(u8(own), cv2.MORPH_CLOSE, disc) > 0
    return (own | (unlike & course)) & strands


def add_thin_parts(hard: Mask, diff: Difference) -> Mask:
    """Add thin structures that clearly stand out and hang on the product (chains, cords,
    hooks, bails). Short ones must touch it, or on cloth, wood or stone be joined to it (or
    to a joined piece) by a short line-like path (bridges.py); a long one (a cord) may start
    a little away, past a loop too fine to see."""
    side = max(hard.shape)
    width = max(7, round(STRAND * side) | 1)
    # Only what differs from the backdrop itself: a gap between two dark bands is a bright
    # line locally, but it is the backdrop.
    steps = _steps(diff, width) if diff.textured else None
    lines = thin_lines(diff, width, steps) & ~hard
    if not diff.textured:
        lines &= diff.any > NOT_BACKDROP
    short = _strands(lines, width, round(SHORT * side)) & ~hard
    if not short.any():
        return hard
    long = _strands(short, width, round(LONG * side))
    touch = max(3, round(TOUCH * side)) | 1  # the outline was trimmed: a loop may be just off it
    reach = round(JOIN * side)
    bridge = round(BRIDGE * side) | 1
    if not diff.textured:  # a studio sweep: what stands out there is the product's
        found = _touching(short, hard, touch) | _touching(long, hard, bridge)
        return hard | _not_shadows(found, hard, diff)
    pieces = _not_shadows(short, hard, diff)
    own = _own_colour(pieces, _beside(pieces, hard, diff, width), diff, width)
    # Keep the pieces that are still strands once shed of what is not their colour, as they
    # are (a wire two pixels wide) or with specks cut off at their narrow necks.
    necks = cv2.morphologyEx(u8(own), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    pieces = _strands(own, width, round(SHORT * side)) | _strands(necks, width, round(SHORT * side))
    assert steps is not None
    strength = f32(np.maximum(*steps))  # how line-like each pixel is, for the joining paths
    joined = join(hard, pieces, strength, touch, reach, always=np.zeros_like(hard))
    cords = _touching(pieces & long & ~joined, hard | joined, bridge)
    if cords.any():  # a cord past a loop too fine to see: joined by its best path if any
        joined = join(hard | joined, cords, strength, touch, bridge, always=cords) | joined
    return hard | joined
