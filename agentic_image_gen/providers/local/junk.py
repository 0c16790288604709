"""Is there anything in the shot that is not the product? The mirror of completeness.

The shot's product, laid back onto the reference photo (completeness.align), covers pixels
of that photo; a piece of it whose pixels there look like the photo's backdrop is junk that
the cut-out kept: the backdrop itself (seen between a bracelet's links or a wire's loops,
where the cut filled an opening), the product's shadow (the backdrop's own colour, darker,
smooth; or, beside a clearly coloured product such as sea glass or a gold band, darker and
tinted a little towards that product's hue, as light through or off it tints its shadow),
lines of the backdrop (a wood's grain, a sweep's crease: thin, long, and like the lines the
photo shows everywhere outside the cut), specks away from the product (a caption, dust),
the product's mirror image under it, on glass or a mirror (segment/reflection.py: flipped
up it lands on the product, and it is fainter; looked for in the product as the photo shows
it, so a cut that left it out is not judged on its own lower half), and thin strips of what
lies beside the product (the edge of a neck, an ear, a prop, or of the sweep along a wire:
coloured like most of what lies right beside them, which no wire is). Each kind is measured
as a share of the shot's product; any kind above its limit makes the shot not clean, which
caps the score as a missing part does. Below that limit, kept backdrop that the cut's
outline runs through (it goes on into the backdrop beside the product with no step
between: wood between a hook and its drop, cloth between two strands of chain, the sweep
along a wire), and a kept shadow, lower the score in proportion: a cut that visibly keeps
some of its backdrop or its shadow does not pass.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, NamedTuple

import cv2
import numpy as np

from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.pixels.decode import Decoded, decode
from agentic_image_gen.pixels.product import product_mask
from agentic_image_gen.pixels.shrink import within
from agentic_image_gen.providers.local.completeness import (
    LIKE,
    POSE_MIN,
    WORK_SIDE,
    align,
    distinct_in,
    placed_cut,
)
from agentic_image_gen.providers.local.cutout import Cutout
from agentic_image_gen.providers.local.memo import once
from agentic_image_gen.providers.local.segment.background import (
    Difference,
    difference,
    local_backdrop,
)
from agentic_image_gen.providers.local.segment.parameters import DARK
from agentic_image_gen.providers.local.segment.reflection import reflection, smoothed
from agentic_image_gen.providers.local.segment.strands import thin_lines

SHADE = 1.5  # border spreads darker than the backdrop (and in its colour): a shadow's tone
SMOOTH = 0.02  # lightness spread (0-1) over 5 px below which a darker patch is a soft shadow
BROAD = 0.02  # of the frame's longer side: a junk patch is at least this wide (not an edge)
LINE = 0.4  # of the frame's longer side: a thin piece this long is a line across the photo
LINE_WIDTH = 0.025  # of the frame's longer side: as wide as a wood's grain line
LINE_LIKE = 2.0  # border spreads: a thin piece this close to the outside lines' colour
SPECK = 0.02  # of the product's area: a separate piece smaller than this is a speck ...
SPECK_AWAY = 0.04  # ... when it lies this far (of the frame's longer side) from the product
STRAND_LIKE = 8.0  # a piece whose reach squared is more than this times its area is a strand
RIM = 5  # pixels just outside a shadow patch needed to tell whether its shade goes on
TINTED = 12.0  # Lab chroma units from the backdrop: a product this coloured (sea glass, a
# coloured stone) tints the light through it and so its shadow; the cool silver of the
# development rings reaches 8 (a faint blue, no tint) and coloured sea glass 16
TINTED_SHARE = 0.1  # ... filling this share of the product's surroundings (``AROUND``
# wide): a body of colour, not a glint of it on silver (a ring's blue reflections)
TINT = 0.5  # a tinted shadow's colour step from the backdrop is at most this share of the
# coloured product's beside it (sea glass's shadow carries about a third of its colour)
BLEND = 0.006  # of the frame's longer side: a tinted shadow patch, or a strip of backdrop
# along a thin part, is wider than this: the pixel or two where an edge blends into the backdrop
LIMIT = 0.06  # share of the shot's product above which a kind of junk makes it not clean
SPECKS = 3  # this many specks away from the product make it not clean, whatever their area
THROUGH = 0.015  # of the product: kept backdrop the outline runs through, above this, lowers
# the score in proportion up to LIMIT. The odd-numbered development photos reach 0.008 (the
# clear glass of the pendants at a corner, where it shows the wood beside it unchanged)
AROUND = 0.05  # of the frame's longer side: a kept pixel is compared with the backdrop this
# close around it, not the border's (a mirror's gradient, a wood's changing tone); wider
# than a hook's gap, narrower than a loop's inside
BESIDE = (3, 7)  # px: the band around a thin piece that shows what lies beside it (past the
# alignment's pixel or two, within reach of the piece)
BESIDE_LIKE = 2.0  # border spreads: a pixel beside a thin piece this close to its colour ...
BESIDE_SHARE = 0.6  # ... on this share of the band: the piece is the edge of what lies beside
# it (skin, a prop, the sweep beside a wire), not a wire (which differs from both its sides).
# Chosen so the odd-numbered development photos stay clean (their silver wires on pale linen
# reach 0.4)

KINDS = {
    "backdrop": "backdrop kept as product (between wires, links or loops, or around it)",
    "shadow": "the product's shadow kept as product",
    "lines": "lines of the backdrop (grain, creases) kept across the frame",
    "specks": "specks or a caption away from the product",
    "reflection": "the product's reflection under it (glass, a mirror) kept as product",
    "edges": "thin strips of what lies beside the product (skin, a prop, the sweep) kept",
}


@dataclass(frozen=True)
class Junk:
    """Shares of the shot's product that are not product, by kind (KINDS)."""

    shares: dict[str, float]
    specks: int
    through: float = 0.0  # share of the product: kept backdrop the outline runs through

    @property
    def dirt(self) -> float:
        """How far the backdrop the outline runs through, or the kept shadow, goes from
        ``THROUGH`` (0) to ``LIMIT`` (1 and more); 0 when both are under ``THROUGH``."""
        kept = max(self.through, self.shares.get("shadow", 0.0))
        return max(0.0, (kept - THROUGH) / (LIMIT - THROUGH))

    @property
    def found(self) -> list[str]:
        """The kinds over their limit, largest first."""
        over = [k for k, share in self.shares.items() if share > LIMIT]
        if self.specks >= SPECKS and "specks" not in over:
            over.append("specks")
        return sorted(over, key=lambda k: -self.shares[k])

    @property
    def clean(self) -> bool:
        return not self.found


class Reference(NamedTuple):
    """The reference photo at the judging size (completeness.WORK_SIDE) and what every shot
    is judged against, measured once per run: its step from the backdrop, and what clearly
    differs from that backdrop (completeness.distinct)."""

    rgb: FloatImage
    diff: Difference
    seen: Mask


PHOTO_KEY = "local.reference_photos"  # the run's cache of the references as junk sees them


def small_reference(rgb: FloatImage) -> Reference:
    small, _ = within(rgb, WORK_SIDE)
    diff = difference(small)
    return Reference(small, diff, distinct_in(diff))


async def reference_photo(reference: ReferenceImage, shared: dict[str, Any]) -> Reference:
    """The reference photo as junk judges cuts and shots against it, once per run and
    reference (the studio's check of its cut and the evaluator share it)."""
    key = hashlib.sha256(reference.data).hexdigest()
    return await once(shared, PHOTO_KEY, key, lambda: small_reference(decode(reference.data).rgb))


def _px(fraction: float, side: int) -> int:
    """``fraction`` of the frame's longer side ``side`` in pixels, at least 3."""
    return max(3, round(fraction * side))


def _opened(mask: Mask, side: int) -> Mask:
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side | 1, side | 1))
    return np.asarray(cv2.morphologyEx(u8(mask), cv2.MORPH_OPEN, disc) > 0)


def _smooth(lightness: FloatImage) -> Mask:
    mean = cv2.blur(lightness, (5, 5))
    spread = np.sqrt(np.maximum(cv2.blur(lightness * lightness, (5, 5)) - mean * mean, 0.0))
    return np.asarray(spread < SMOOTH)


def _lines(placed: Mask, thin: Mask, diff: Difference, side: int) -> Mask:
    """Thin, long pieces of ``placed`` (``thin``: its parts under ``LINE_WIDTH``) coloured
    like the thin lines the photo shows outside it: the backdrop's grain or creases, not a
    chain (which is unlike them)."""
    width = _px(LINE_WIDTH, side)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(u8(thin), connectivity=8)
    if count <= 1:
        return np.zeros_like(placed)
    reach = np.hypot(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    long = 1 + np.flatnonzero(reach >= LINE * side)
    if not long.size:
        return np.zeros_like(placed)
    outside = thin_lines(diff, width | 1) & ~(cv2.dilate(u8(placed), np.ones((7, 7))) > 0)
    if outside.sum() < LINE * side * 3:  # the photo shows no lines of its own
        return np.zeros_like(placed)
    theirs = np.median(diff.offset[outside], axis=0)
    found = np.zeros_like(placed)
    for label in long:
        piece = labels == label
        if np.linalg.norm(np.median(diff.offset[piece], axis=0) - theirs) < LINE_LIKE:
            found |= piece
    return found


def _edges(placed: Mask, thin: Mask, diff: Difference) -> Mask:
    """Thin pieces of ``placed`` coloured like most of what lies right beside them: the edge
    of a neck, an ear or a prop, or a strip of the sweep along a wire, that the cut took for
    a thin part. A wire or a chain differs from the backdrop on both its sides."""
    count, labels = cv2.connectedComponents(u8(thin), connectivity=8)
    near, far = (
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)) for r in BESIDE
    )
    inner = cv2.dilate(u8(placed), near) > 0
    found = np.zeros_like(placed)
    for label in range(1, count):
        piece = labels == label
        band = (cv2.dilate(u8(piece), far) > 0) & ~inner
        if not band.any():
            continue
        # Its clearest quarter: a wire laid a pixel or two off still covers its own pixels
        # there, and the backdrop beside it is nothing like them.
        steps = diff.offset[piece]
        size = np.linalg.norm(steps, axis=1)
        colour = np.median(steps[size >= np.percentile(size, 75)], axis=0)
        alike = np.linalg.norm(diff.offset[band] - colour, axis=1) < BESIDE_LIKE
        if float(alike.mean()) >= BESIDE_SHARE:
            found |= piece
    return found


def _scene(placed: Mask, seen: Mask) -> Mask:
    """The product as the photo shows it around ``placed``: ``placed`` and what clearly
    differs from the backdrop touching it (``seen``). Its mirror image is looked for in this,
    not in ``placed``: a cut that left the reflection out is not judged on its own lower half
    (a stone darker below than above looks like a faded copy too)."""
    _, labels = cv2.connectedComponents(u8(seen), connectivity=8)
    touching = np.unique(labels[cv2.dilate(u8(placed), np.ones((3, 3), np.uint8)) > 0])
    return placed | np.isin(labels, touching[touching > 0])


def _cut_through(patches: Mask, placed: Mask, diff: Difference) -> Mask:
    """The patches whose shade goes on past the cut's outline: a shadow the cut stopped
    short in, not a polished band's grey face (which the product itself surrounds)."""
    count, labels = cv2.connectedComponents(u8(patches), connectivity=8)
    kept = []
    for label in range(1, count):
        piece = labels == label
        rim = (cv2.dilate(u8(piece), np.ones((5, 5), np.uint8)) > 0) & ~placed
        if rim.sum() >= RIM and float(np.median(diff.lighter[rim])) <= -SHADE / 2:
            kept.append(label)
    return np.isin(labels, kept)


def _from_segment(steps: FloatImage, ends: FloatImage) -> FloatImage:
    """Each pixel's distance (in border spreads) from its step ``steps`` (H x W x 2) to the
    segment from the backdrop (0) to ``ends`` (H x W x 2): colours between the backdrop's
    and ``ends``."""
    length = np.maximum((ends * ends).sum(axis=-1), 1e-6)
    along = np.clip((steps * ends).sum(axis=-1) / length, 0.0, 1.0)
    return f32(np.linalg.norm(steps - along[..., None] * ends, axis=-1))


def _tinted_shadow(placed: Mask, diff: Difference, side: int) -> Mask:
    """The shadow of a clearly coloured, translucent product (sea glass, a coloured stone)
    kept in ``placed``: darker than the backdrop, coloured between the backdrop and a share
    (``TINT``) of the coloured product beside it (light through the product tints its
    shadow), wider than an edge's blend, and its shade going on past the cut's outline. A
    grey shadow is the plain shadow test's; a darker face of the product keeps its colour."""
    steps = diff.offset[..., 1:]
    units = np.asarray(diff.spread[1:], np.float32)
    coloured = placed & (np.linalg.norm(steps * units, axis=-1) >= TINTED)
    if not coloured.any():
        return np.zeros_like(placed)
    size = _px(AROUND, side) | 1
    hue = local_backdrop(f32(steps), coloured, size)  # the product's beside
    body = cv2.blur(coloured.astype(np.float32), (size, size)) >= TINTED_SHARE
    toward = (_from_segment(f32(steps), f32(TINT * hue)) < LIKE) & body
    shade = (diff.lighter <= -SHADE) & (diff.delta_l > -DARK) & (diff.chroma >= LIKE)
    patches = _opened(placed & shade & toward, _px(BLEND, side))
    return _cut_through(patches, placed, diff)


def _through(placed: Mask, thin: Mask, reference: Reference, side: int) -> Mask:
    """The broad patches of ``placed`` that look like the backdrop around them (within
    ``LIKE`` border spreads of it, averaged ``AROUND`` wide without the product and what
    clearly differs) and go on into it outside ``placed`` with no step between: the cut's
    outline runs through the backdrop there, not around an opening the product encloses
    (clear glass, a pierced plate, whose rim is not backdrop). And along its thin parts
    (``thin``), strips like that backdrop wider than an edge's blend (``BLEND``): the sweep
    kept between a hook's legs or beside a wire, which is no part of a wire's own width."""
    diff = reference.diff
    beside = ~(cv2.dilate(u8(placed), np.ones((5, 5), np.uint8)) > 0) & ~reference.seen
    around = local_backdrop(diff.offset, beside, max(3, round(AROUND * side)))
    like = np.linalg.norm(diff.offset - around, axis=2) < LIKE
    patches = _opened(placed & like, _px(BROAD, side))
    outside = like & ~placed
    _, labels = cv2.connectedComponents(u8(patches | outside), connectivity=8)
    touching = np.unique(labels[outside])
    strips = _opened(thin & like, _px(BLEND, side))
    return np.asarray((patches & np.isin(labels, touching[touching > 0])) | strips, bool)


def _specks(placed: Mask, side: int) -> tuple[Mask, int]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(u8(placed), connectivity=8)
    if count <= 2:
        return np.zeros_like(placed), 0
    areas = stats[1:, cv2.CC_STAT_AREA]
    big = 1 + np.flatnonzero(areas >= SPECK * float(placed.sum()))
    body = np.isin(labels, big)
    away = cv2.distanceTransform(u8(~body), cv2.DIST_L2, 3)
    reach = np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    specks = [
        label
        for label in range(1, count)
        if label not in big
        and reach[label] ** 2 < STRAND_LIKE * stats[label, cv2.CC_STAT_AREA]
        and float(away[labels == label].min()) > SPECK_AWAY * side
    ]
    return np.isin(labels, specks), len(specks)


def junk(reference: Reference, placed: Mask) -> Junk:
    """What of ``placed`` (the shot's product on ``reference``, both at the judging size) is
    not product (CPU-bound)."""
    diff = reference.diff
    side = max(placed.shape)
    broad = _px(BROAD, side)
    thin = placed & ~_opened(placed, _px(LINE_WIDTH, side))  # for lines and edges
    colour_like = diff.chroma < LIKE
    backdrop = _opened(placed & colour_like & (np.abs(diff.lighter) < LIKE), broad)
    shade = (diff.lighter <= -SHADE) & (diff.delta_l > -DARK) & _smooth(f32(diff.delta_l / 100))
    shadow = _cut_through(_opened(placed & colour_like & shade, broad), placed, diff)
    shadow |= _tinted_shadow(placed, diff, side)
    lines = _lines(placed, thin, diff, side)
    specks, count = _specks(placed, side)
    mirror = placed & reflection(_scene(placed, reference.seen), smoothed(diff.offset))
    edges = _edges(placed, thin, diff)
    area = max(1.0, float(placed.sum()))
    shares = {
        "backdrop": float(backdrop.sum()) / area,
        "shadow": float(shadow.sum()) / area,
        "lines": float(lines.sum()) / area,
        "specks": float(specks.sum()) / area,
        "reflection": float(mirror.sum()) / area,
        "edges": float(edges.sum()) / area,
    }
    return Junk(shares, count, float(_through(placed, thin, reference, side).sum()) / area)


def shot_junk(shot_mask: Mask, cut: Cutout, reference: Reference) -> Junk | None:
    """The junk the shot shows: its product (``shot_mask``, every solid pixel, specks
    included) laid onto the reference (at the judging size) as completeness lays it; None
    when the shot does not show the product in the reference's pose."""
    aligned = align(shot_mask, cut, (reference.rgb.shape[0], reference.rgb.shape[1]))
    if aligned is None or aligned[1] < POSE_MIN or not aligned[0].any():
        return None
    return junk(reference, aligned[0])


def cut_junk(cut: Cutout, reference: Reference) -> Junk:
    """What the cut-out itself keeps that is not the product, where it lies in its reference
    (no alignment: it was cut from there; CPU-bound)."""
    return junk(reference, placed_cut(cut, (reference.rgb.shape[0], reference.rgb.shape[1])))


def dirt_line(found: Junk) -> str:
    kept = []
    if found.through > THROUGH:
        kept.append(
            f"some of the backdrop, its outline running through it ({found.through:.0%} "
            f"of the product's area)"
        )
    if found.shares.get("shadow", 0.0) > THROUGH:
        kept.append(f"the product's shadow ({found.shares['shadow']:.0%})")
    return (
        f"The cut-out keeps {' and '.join(kept)}: the product must be cut out along its own edges."
    )


def _named(found: Junk, of: str = "") -> str:
    """The kinds over their limit, each with its share (``of``: what the share is of)."""
    return "; ".join(f"{KINDS[kind]} ({found.shares[kind]:.0%}{of})" for kind in found.found)


def junk_line(found: Junk) -> str:
    named = _named(found)
    return (
        f"The shot shows what is not the product (share of the product's area): {named}; "
        f"the cut-out must keep the product only."
    )


def refusal_line(found: Junk) -> str:
    """Why a cut-out that is not the product alone cannot be used (``found`` not clean)."""
    return (
        f"the product could not be cut out alone: {_named(found, ' of the cut-out')}; use a "
        "photo of the product by itself on a plain backdrop, not worn, held or lying on a prop"
    )


def without_soft_shadow(image: Decoded) -> Mask:
    """An opaque shot's every faint part (a pale wire, white glass) without the broad faint
    patches beside its body: the soft shadow a scene lays under its product, which is the
    shot's own, not backdrop its cut kept (on the sample ring it measured as 5 % kept
    backdrop). A broad part is at least ``BROAD`` wide, as the junk patches are."""
    faint = product_mask(image, faint=True)
    shadow = _opened(faint & ~product_mask(image), _px(BROAD, max(faint.shape)))
    return np.asarray(faint & ~shadow, bool)
