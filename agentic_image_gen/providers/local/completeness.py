"""Is the product whole? A second look at the reference that owes nothing to the cut-out.

The reference photo is segmented again, independently of the cut: pixels that clearly differ
from its backdrop (another colour, much lighter, much darker than any shadow, or a thin dark
or light strand such as a chain or a cord; on woven cloth or wood, a little off the backdrop
and showing none of its weave, as a part in shade does and a shadow does not), and, when the
cut was not made by the bundled model, that model's refined mask too (a white band on a white
sweep differs by no colour).
The shot's product mask is laid back onto the photo (``align``: its box onto the cut-out's
box there, by the whole product or its body, whichever agrees best) and every clearly
different part attached to the product (or hanging close by, like a cord) but absent from the
shot counts as missing: dropped bands, bails, hooks and chains show up even when the shot
looks clean; a glossy floor's mirror image does not count. The map needs the shot to show the
product in the reference's pose (the studio's shots do); a shot that re-poses it is left
unjudged here rather than judged wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.pixels.alpha import solid
from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.pixels.boxes import box
from agentic_image_gen.pixels.opening import opened
from agentic_image_gen.pixels.product import largest_parts
from agentic_image_gen.pixels.shrink import within
from agentic_image_gen.pixels.weave import weave
from agentic_image_gen.providers.local.cutout import Cutout
from agentic_image_gen.providers.local.segment import Segmenter
from agentic_image_gen.providers.local.segment.background import (
    Difference,
    difference,
    local_backdrop,
)
from agentic_image_gen.providers.local.segment.parameters import DARK
from agentic_image_gen.providers.local.segment.parameters import WORK_SIDE as REFINE_SIDE
from agentic_image_gen.providers.local.segment.refine import hard_mask
from agentic_image_gen.providers.local.segment.strands import thin_lines

WORK_SIDE = 512
MISSING_LIMIT = 0.02  # missing share of the product above which it is incomplete
POSE_MIN = 0.6  # below this the shot is not the reference's pose: nothing to map
REACHES_OUT = 0.1  # a missing piece reaching this far (of the product's diagonal) is a lost part
GAP = 0.06  # of the photo: a long piece starting this close hangs on the product
CORD = 0.5  # of the product's diagonal: how long such a piece is (a cord, a chain)
MIRROR = 0.6  # share of a piece under the product that, flipped up, lands on it: a reflection
THIN = 2.5  # px (half-width) at the check's scale: a wire or a chain, not a band
BODY = 0.04  # of the product's box diagonal: an opening this wide removes its thin parts
REACH = 0.012  # of the photo: closer than this to the shot's product is not missing (alignment)
PIECE = 0.005  # a missing piece smaller than this share of the product is texture
PROP = 0.035  # of the photo's longer side: a missing piece that leaves the frame this wide
# (the widest strand, a leather cord, is narrower) is what the product hangs on or is worn
# on (a rod, a neck, an ear), not a part of it
LIKE = 1.5  # border spreads: closer than this in colour and lightness is the backdrop itself
UNWOVEN = 0.5  # share of the backdrop's weave around it under which a pixel shows none of it
WEAVE_AROUND = 0.1  # of the photo's longer side: the backdrop's weave is averaged this wide
IN_FOCUS = 0.5  # ... and where that is under this share of the frame's median, the cloth is
# out of focus or in deep shade and shows no weave to go by


@dataclass(frozen=True)
class Completeness:
    missing: float  # share of the product (as the reference shows it) absent from the shot
    parts: int  # separate missing pieces
    pose: float  # agreement (IoU) of the shot's product with the cut-out's, once aligned
    reaches: float = 0.0  # how far a missing piece reaches from the shot's product, of its size

    @property
    def compared(self) -> bool:
        """Whether the shot shows the product as the reference does, so parts can be mapped;
        a generator that re-poses the product (a model) is not judged on this."""
        return self.pose >= POSE_MIN

    @property
    def whole(self) -> bool:
        return not self.compared or (self.missing <= MISSING_LIMIT and self.reaches < REACHES_OUT)


def distinct(rgb: FloatImage) -> Mask:
    """What clearly differs from the photo's backdrop, at ``WORK_SIDE`` (CPU-bound): by its
    colour and, on a woven backdrop, by showing none of the weave (``unwoven``)."""
    diff = difference(within(rgb, WORK_SIDE)[0])
    seen = distinct_in(diff)
    return seen | unwoven(rgb, diff, seen)


def distinct_in(diff: Difference) -> Mask:
    """``distinct`` of a photo whose step from its backdrop is ``diff`` (at its size)."""
    dark = (diff.darker > 6.0) & (diff.delta_l < -DARK)
    strong = (diff.chroma > 6.0) | (diff.lighter > 6.0) | dark
    strong |= thin_lines(diff, max(7, round(0.02 * max(diff.offset.shape[:2])) | 1))
    return cv2.morphologyEx(u8(strong), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0


def unwoven(rgb: FloatImage, diff: Difference, seen: Mask) -> Mask:
    """What differs a little from a woven backdrop (``LIKE``) and shows none of its weave
    (pixels/weave.py), where the cloth around it is woven and in focus: a part in shade (a
    plate's rim beside its stone, a chain), which no colour tells from a shadow, while a
    shadow cast on the cloth keeps the weave. Only on cloth, wood or stone (a sweep's JPEG
    blocks repeat too); at ``diff``'s size, beside ``seen`` (``distinct_in``)."""
    backdrop = ~(cv2.dilate(u8(seen), np.ones((5, 5), np.uint8)) > 0)
    share = weave(rgb, backdrop) if diff.textured and backdrop.any() else None
    if share is None:
        return np.zeros_like(seen)
    around = local_backdrop(share, backdrop, max(3, round(WEAVE_AROUND * max(seen.shape))))
    woven = around >= IN_FOCUS * float(np.median(share[backdrop]))
    found = woven & (share < UNWOVEN * around) & (diff.any >= LIKE) & ~seen
    return opened(found, 3)


def second_opinion(rgb: FloatImage, segmenter: Segmenter | None) -> Mask:
    """``distinct``, joined (when one is given) by another segmenter's refined mask at the
    same scale: a white band on a white sweep has no colour to stand out by, but a saliency
    model still sees it. The caller picks a segmenter other than the one that made the cut."""
    seen = distinct(rgb)
    if segmenter is None:
        return seen
    small, _ = within(rgb, REFINE_SIDE)
    size = (small.shape[1], small.shape[0])
    prob = f32(cv2.resize(segmenter.segment(rgb), size, interpolation=cv2.INTER_AREA))
    try:
        model = hard_mask(small, prob, segmenter.coarse).hard
    except ProviderError:  # that segmenter sees no product here: no opinion
        return seen
    flat = cv2.resize(u8(model), (seen.shape[1], seen.shape[0]), interpolation=cv2.INTER_AREA)
    return seen | (np.asarray(flat) > 0)


def _solid(cut: Cutout) -> Mask:
    """The cut-out's product as a shot's product mask is measured (measure.product_mask):
    the same pieces kept, so a speck the shot's measure drops cannot shift the box."""
    return largest_parts(solid(cut.alpha))


def _body(mask: Mask) -> Mask:
    """The product without its thin parts (an opening wider than a wire or a cord): what
    stays put when a hook, a chain or a neck wire is lost, so the shot can still be aligned."""
    found = box(mask)
    if found is None:
        return mask
    side = max(3, round(BODY * np.hypot(found[2] - found[0], found[3] - found[1]))) | 1
    body = largest_parts(opened(mask, side))
    return body if body.any() else mask


def _place(
    mask: Mask, scale: tuple[float, float], at: tuple[float, float], shape: tuple[int, int]
) -> Mask:
    """``mask`` scaled by ``scale`` (x, y) with its top-left corner moved to ``at``."""
    sx, sy = scale
    size = (max(1, round(mask.shape[1] * sx)), max(1, round(mask.shape[0] * sy)))
    # Area-averaged, so a wire thinner than a pixel after scaling still marks its pixels.
    scaled = np.asarray(cv2.resize(u8(mask), size, interpolation=cv2.INTER_AREA) > 0)
    x, y = round(at[0]), round(at[1])
    height, width = shape
    placed = np.zeros(shape, bool)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + size[0]), min(height, y + size[1])
    if x1 > x0 and y1 > y0:
        placed[y0:y1, x0:x1] = scaled[y0 - y : y1 - y, x0 - x : x1 - x]
    return placed


def _fits(
    frame: tuple[int, int, int, int], onto: tuple[float, float, float, float]
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Ways to lay box ``frame`` on box ``onto`` as (scale, top-left corner): stretched to
    fit, and at one scale (the widths' or the heights') pinned by each corner, since a shot
    that lost its top still has its width and its bottom where they were."""
    left, top, right, bottom = frame
    sx = (onto[2] - onto[0]) / max(1, right - left)
    sy = (onto[3] - onto[1]) / max(1, bottom - top)
    fits = [((sx, sy), (onto[0] - left * sx, onto[1] - top * sy))]
    for scale in (sx, sy):
        for x in (onto[0] - left * scale, onto[2] - right * scale):
            for y in (onto[1] - top * scale, onto[3] - bottom * scale):
                fits.append(((scale, scale), (x, y)))
    return fits


def align(shot_mask: Mask, cut: Cutout, shape: tuple[int, int]) -> tuple[Mask, float] | None:
    """The shot's product drawn onto the reference (at ``shape``) and how well it agrees with
    the cut-out there (IoU). Box on box, by the whole product or its body alone, stretched
    or pinned by a corner, whichever agrees best: a shot that lost a part still lines up by
    the rest; one that re-poses the product agrees poorly every way. None without a product
    or a source size."""
    solid = _solid(cut)
    if not shot_mask.any() or not solid.any() or cut.source_size == (0, 0):
        return None
    height, width = shape
    fx, fy = width / cut.source_size[0], height / cut.source_size[1]
    offset = (cut.origin[0], cut.origin[1], cut.origin[0], cut.origin[1])
    reference = placed_cut(cut, shape, solid)
    best: tuple[Mask, float] | None = None
    for pick in (lambda mask: mask, _body):
        frame, target = box(pick(shot_mask)), box(pick(solid))
        if frame is None or target is None:
            continue
        for scale, at in _fits(frame, _scaled(target, offset, fx, fy)):
            placed = _place(shot_mask, scale, at, shape)
            agreement = float((placed & reference).sum() / max(1, (placed | reference).sum()))
            if best is None or agreement > best[1]:
                best = (placed, agreement)
    return best


def placed_cut(cut: Cutout, shape: tuple[int, int], pieces: Mask | None = None) -> Mask:
    """The cut-out's product (``pieces``: its parts as a shot's are measured) where it lies
    in its reference, drawn at ``shape``; empty without a source size."""
    pieces = _solid(cut) if pieces is None else pieces
    if cut.source_size == (0, 0):
        return np.zeros(shape, bool)
    fx, fy = shape[1] / cut.source_size[0], shape[0] / cut.source_size[1]
    return _place(pieces, (fx, fy), (cut.origin[0] * fx, cut.origin[1] * fy), shape)


def _scaled(
    found: tuple[int, int, int, int], offset: tuple[int, int, int, int], fx: float, fy: float
) -> tuple[float, float, float, float]:
    left, top, right, bottom = (a + b for a, b in zip(found, offset, strict=True))
    return (left * fx, top * fy, right * fx, bottom * fy)


def _mirror_image(piece: Mask, placed: Mask) -> bool:
    """Whether ``piece`` lies under the product and, flipped about the product's lowest
    point above it (where it meets a glossy floor), falls on the product: the sweep's
    reflection, not a lost part."""
    ys, xs = np.nonzero(piece)
    columns = placed[:, xs.min() : xs.max() + 1].any(axis=1)
    if not columns.any():
        return False
    axis = int(np.flatnonzero(columns).max())
    below = ys > axis
    if below.mean() < MIRROR:
        return False
    flipped = 2 * axis - ys[below]
    inside = (flipped >= 0) & placed[np.clip(flipped, 0, placed.shape[0] - 1), xs[below]]
    return bool(inside.mean() >= MIRROR)


def _pieces(missing: Mask, placed: Mask) -> tuple[np.ndarray, np.ndarray]:
    """(labels, the labels of the pieces of ``missing`` large enough to be a lost part):
    texture (linen weave, wood grain) leaves specks; a lost part is a piece of some size."""
    _, parts, stats, _ = cv2.connectedComponentsWithStats(u8(missing), connectivity=8)
    big = 1 + np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= PIECE * float(placed.sum()))
    return parts, big


def _props(missing: Mask, reach: int) -> Mask:
    """The missing pixels that are what the product hangs on or is worn on: thick parts that
    run off the frame, and where they leave it are wider than any strand (a rod, a neck, an
    ear; a chain or a cord running off the frame is narrow there). The product's own wires
    cross a rod in front of it and a rod's highlight splits it along its length, so the
    pieces are first bridged across gaps as wide as a wire and the alignment's margin on
    either side; then what is thinner than half the widest strand is let go, so a hook or a
    wire the shot lost stays missing even where it touches the rod."""
    widest = PROP * max(missing.shape)

    def disc(side: int) -> np.ndarray:
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side | 1, side | 1))

    bridged = cv2.morphologyEx(u8(missing), cv2.MORPH_CLOSE, disc(3 * reach))
    thick = cv2.morphologyEx(bridged, cv2.MORPH_OPEN, disc(max(3, round(widest / 2))))
    _, labels = cv2.connectedComponents(thick, connectivity=8)
    props: set[int] = set()
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        for label in np.unique(edge[edge > 0]):
            if _longest_run(edge == label) >= widest:
                props.add(int(label))
    region = cv2.dilate(u8(np.isin(labels, sorted(props))), disc(reach)) > 0
    return np.asarray(region & missing)


def _longest_run(flags: np.ndarray) -> int:
    """The longest run of True in a row of flags."""
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    steps = np.flatnonzero(np.diff(padded))
    return int((steps[1::2] - steps[::2]).max()) if steps.size else 0


def completeness(
    shot_mask: Mask, cut: Cutout, seen: Mask, exact: bool = True
) -> Completeness | None:
    """How much of what ``seen`` (``distinct`` of the reference) shows is missing from the
    shot; None when the shot has no product to compare. ``exact``: the shot's mask is its own
    alpha channel; an opaque shot's mask is measured against its backdrop, which loses a pale
    wire on a pale sweep, so there thin pieces do not count, neither their area nor their
    reach."""
    aligned = align(shot_mask, cut, (seen.shape[0], seen.shape[1]))
    if aligned is None or not aligned[0].any():
        return None
    placed, pose = aligned
    reach = max(3, round(REACH * max(seen.shape)))
    near = cv2.dilate(u8(placed), np.ones((reach, reach), np.uint8)) > 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(u8(seen | placed), connectivity=8)
    attached = np.unique(labels[placed])
    # A cord hangs by a bail too fine to see: a long piece that starts close by counts too.
    frame = box(placed)
    assert frame is not None
    size = float(np.hypot(frame[2] - frame[0], frame[3] - frame[1]))
    gap = 2 * max(3, round(GAP * max(seen.shape))) + 1  # a square reaching GAP each way
    close = np.unique(labels[cv2.dilate(u8(placed), np.ones((gap, gap), np.uint8)) > 0])
    extent = np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    hanging = close[(close > 0) & (extent[close] >= CORD * size)]
    attached = np.union1d(attached, hanging)
    missing = seen & ~near & np.isin(labels, attached[attached > 0])
    parts, big = _pieces(missing, placed)
    big = np.array([label for label in big if not _mirror_image(parts == label, placed)], int)
    lost = np.isin(parts, big)
    parts, big = _pieces(lost & ~_props(lost, reach), placed)  # what it hangs on is no part
    missing = np.isin(parts, big)
    if not exact:  # an opaque shot's measure cannot see a wire: only thick pieces count
        thickness = cv2.distanceTransform(u8(missing), cv2.DIST_L2, 3)
        big = np.array([label for label in big if thickness[parts == label].max() > THIN], int)
        missing = np.isin(parts, big)
    share = float(missing.sum()) / max(1.0, float((placed | missing).sum()))
    # A lost hook or chain is thin: little area, but it reaches far from what is left (a
    # sliver along the outline, where the alignment is a pixel off, does not).
    away = cv2.distanceTransform(u8(~placed), cv2.DIST_L2, 3)
    reaches = float(away[missing].max()) / max(1.0, size) if exact and missing.any() else 0.0
    return Completeness(
        missing=share, parts=int(big.size) if count > 1 else 0, pose=pose, reaches=reaches
    )
