"""Refinement on top of any segmenter's map: the product whole, its holes open, soft edges.

Saliency models see a ring as a blob and a chain as noise. On a copy at most ``WORK_SIDE``
pixels on its longer side (so the cost stays bounded), this clears enclosed regions that look
like the backdrop (a ring's inside, the gap in a necklace), adds thin parts that clearly
differ from the backdrop and hang on the product (chains, cords, hooks, bails, prongs), and
drops specks. The hard mask then gets a soft edge from a guided filter that follows the full-
resolution photo, and edge colours are decontaminated of the backdrop's colour.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.providers.local.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.providers.local.segment.background import Difference, difference

WORK_SIDE = 768
MIN_PRODUCT = 0.0015  # of the frame: smaller is a speck, not a product to sell
MIN_CONTRAST = 2.0  # distance from the backdrop (border spreads) of the product's clearest
HOLE_LIKE = 2.5  # closer to the backdrop than this (border spreads): may be a hole
HOLE_MEAN = 0.8  # ... and a hole's average colour this close to the backdrop's
HOLE_LARGE, HOLE_MEAN_LARGE = 0.2, 1.2  # a fifth of the product: a looser average will do
HOLE_MIN = 0.03  # ... and at least this share of the product: a polished band's white highlight
# is as flat and as white as the backdrop, but smaller than a ring's inside
THIN_CHROMA = 6.0  # a coloured part (gold chain, leather) on a neutral backdrop
LINE_STEP = 3.0  # a line this much darker or lighter than beside it (border spreads)
BRIDGE = 0.2  # how far (of the frame) a long strand may start from the product
LONG = 0.15  # a strand this long (box diagonal, of the frame) may bridge
HUG = 0.4  # a strand reaching no farther from the product than this share of its length hugs it
DARK = 40.0  # Lab lightness below the backdrop that a soft shadow does not reach
STRAND = 0.035  # the widest strand (a leather cord), of the frame's longer side
SMOOTH = 1.5  # px at work scale
DENSE = 0.6  # share of its 3x3 neighbourhood a strand pixel's own kind fills
SOLID = 0.8  # share of a strand's closed shape that its own pixels cover


def guided_filter(guide: FloatImage, source: FloatImage, radius: int, eps: float) -> FloatImage:
    """He et al.'s guided filter (grey guide): edges of ``source`` snap to edges of ``guide``."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: FloatImage) -> FloatImage:
        return f32(cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT))

    mean_i, mean_p = box(guide), box(source)
    cov = box(f32(guide * source)) - mean_i * mean_p
    var = box(f32(guide * guide)) - mean_i * mean_i
    a = f32(cov / (var + eps))
    b = f32(mean_p - a * mean_i)
    return f32(box(a) * guide + box(b))


def _components(mask: Mask) -> tuple[int, np.ndarray, np.ndarray]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(u8(mask), connectivity=8)
    return count, labels, stats


def _exterior(hard: Mask) -> Mask:
    """The background reachable from the frame's edge (not a ring's enclosed inside)."""
    count, labels, _ = _components(~hard)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge[edge > 0]) if count > 1 else ~hard


def clear_holes(hard: Mask, diff: Difference) -> Mask:
    """Open up regions inside the mask that show the backdrop (a ring's inside, a necklace's
    gap) and trim its shadow: every pixel close to the backdrop's colour, and the region's
    average colour the backdrop's own, or (on the outline) the backdrop's, only darker. A pale
    stone, enamel or glass is close pixel by pixel but off on average, so it stays."""
    like = hard & (diff.any < HOLE_LIKE)
    like = cv2.morphologyEx(u8(like), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)) > 0
    count, labels, stats = _components(like)
    if count <= 1:
        return hard
    area = stats[1:, cv2.CC_STAT_AREA]
    flat = labels.ravel()

    def mean(values: FloatImage) -> np.ndarray:
        return np.asarray(np.bincount(flat, values.ravel(), count)[1:] / np.maximum(area, 1))

    light, a, b = (mean(diff.offset[..., c]) for c in range(3))
    share = area / max(1, int(hard.sum()))
    # A large enclosed backdrop-like region is a ring's inside even in the ring's own shade.
    off = np.sqrt(light**2 + a**2 + b**2)
    backdrop = (off < HOLE_MEAN) | ((off < HOLE_MEAN_LARGE) & (share >= HOLE_LARGE))
    shadow = (np.hypot(a, b) < HOLE_MEAN) & (light < 0)
    near_out = cv2.dilate(u8(_exterior(hard)), np.ones((3, 3), np.uint8)) > 0
    on_outline = np.bincount(flat, near_out.ravel(), count)[1:] > 0
    keep = (area >= 24) & (share >= HOLE_MIN) & (backdrop | (shadow & on_outline))
    holes = np.isin(labels, 1 + np.flatnonzero(keep))
    grown = cv2.dilate(u8(holes), np.ones((3, 3), np.uint8)) > 0
    return hard & ~(grown & (diff.any < HOLE_LIKE * 1.6))


def thin_lines(diff: Difference, width: int) -> Mask:
    """Lines up to ``width`` px wide that stand out from their own surroundings: a chain or a
    cord is darker or lighter than the backdrop right beside it, a fold or a shadow is not."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    # Smoothed first: a fabric's weave is finer than any strand and fades, a cord does not.
    light = f32(cv2.GaussianBlur(diff.lighter, (0, 0), SMOOTH))
    dark_line = f32(cv2.morphologyEx(light, cv2.MORPH_CLOSE, kernel)) - light
    light_line = light - f32(cv2.morphologyEx(light, cv2.MORPH_OPEN, kernel))
    return (dark_line > LINE_STEP) | (light_line > LINE_STEP) | (diff.chroma > THIN_CHROMA)


def _strands(candidates: Mask, width: int, reach: int) -> Mask:
    """Candidate pieces shaped like a strand: long (their box's diagonal at least ``reach``),
    thin (area over length at most ``2 * width``) and solid (a fabric's weave gives sparse,
    speckled clusters that a small closing fills by half or more)."""
    # Weave pixels are scattered; a strand's have neighbours on both sides along it.
    dense = f32(cv2.boxFilter(candidates.astype(np.float32), -1, (3, 3))) >= DENSE
    candidates = candidates & dense
    closed = cv2.morphologyEx(u8(candidates), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0
    count, labels, stats = _components(closed)
    if count <= 1:
        return candidates
    solid = np.bincount(labels[candidates], minlength=count)[1:]
    area = stats[1:, cv2.CC_STAT_AREA]
    length = np.hypot(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    keep = (length >= reach) & (area <= 2 * width * length) & (solid >= SOLID * area)
    return closed & np.isin(labels, 1 + np.flatnonzero(keep))  # closed: no gaps in a cord


def _touching(strands: Mask, hard: Mask, reach: int) -> Mask:
    """The strands that come within ``reach`` px of the product."""
    grown = cv2.dilate(u8(hard), np.ones((reach, reach), np.uint8)) > 0
    _, labels, _ = _components(strands | grown)
    attached = np.unique(labels[hard])
    return strands & np.isin(labels, attached[attached > 0])


def _not_shadows(strands: Mask, hard: Mask, diff: Difference) -> Mask:
    """Drop strands that hug the product's outline and are only a little darker than the
    backdrop: its contact shadow or reflection. Strands that reach away from the product
    (cords, chains, hooks), or are lighter, coloured or very dark (a bezel's rim), stay."""
    count, labels, stats = _components(strands)
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
    shadow = (farthest[1:] < HUG * length) & (step < 0) & (step > -DARK) & (colour < THIN_CHROMA)
    return strands & np.isin(labels, 1 + np.flatnonzero(~shadow))


def add_thin_parts(hard: Mask, diff: Difference) -> Mask:
    """Add thin structures that clearly stand out and hang on the product (chains, cords,
    hooks, bails). Short ones must touch it; a long one (a cord) may start a little away,
    past a clasp or a loop too fine to see."""
    side = max(hard.shape)
    width = max(7, round(STRAND * side) | 1)
    # Only what differs from the backdrop itself: a gap between two dark bands is a bright
    # line locally, but it is the backdrop.
    lines = thin_lines(diff, width) & ~hard & (diff.any > HOLE_LIKE)
    short = _strands(lines, width, round(0.04 * side)) & ~hard
    if not short.any():
        return hard
    long = _strands(short, width, round(LONG * side))
    found = _touching(short, hard, 3) | _touching(long, hard, round(BRIDGE * side) | 1)
    return hard | _not_shadows(found, hard, diff)


def drop_specks(hard: Mask) -> Mask:
    """Keep the product's pieces: components at least 3% the size of the largest."""
    count, labels, stats = _components(hard)
    if count <= 1:
        return hard
    areas = stats[1:, cv2.CC_STAT_AREA]
    return np.isin(labels, 1 + np.flatnonzero(areas >= 0.03 * areas.max()))


def hard_mask(small: FloatImage, prob: FloatImage) -> tuple[Mask, Difference]:
    """The refined hard mask at work scale; a tiny or low-contrast product is refused."""
    diff = difference(small)
    hard = drop_specks(prob > 0.5)
    # The 90th percentile: a model's filled ring is mostly backdrop, its band is not.
    contrast = float(np.percentile(diff.any[hard], 90)) if hard.any() else 0.0
    if contrast < MIN_CONTRAST:
        raise ProviderError(
            f"the product in the reference photo hardly differs from its background (contrast "
            f"{contrast:.1f}): use a photo on a plain, contrasting backdrop"
        )
    hard = clear_holes(hard, diff)
    hard = drop_specks(cv2.morphologyEx(u8(hard), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0)
    hard = add_thin_parts(hard, diff)  # after the speck filter: a strand may stand apart
    share = float(hard.mean())
    if share < MIN_PRODUCT:
        raise ProviderError(
            f"the reference photo shows no product large enough to cut out ({share:.2%} of the "
            "frame): use a photo where the product fills more of the frame"
        )
    return hard, diff


def decontaminate(rgb: FloatImage, alpha: FloatImage, backdrop: FloatImage) -> FloatImage:
    """Edge colours without the backdrop mixed in: F = (I - (1 - a) B) / a on the soft rim."""
    rim = (alpha > 0.0) & (alpha < 0.98)
    if not rim.any():
        return rgb
    a = np.maximum(alpha, 0.3)[..., None]
    pure = np.clip((rgb - (1.0 - a) * backdrop) / a, 0.0, 1.0)
    return f32(np.where(rim[..., None], pure, rgb))


def refine(rgb: FloatImage, prob: FloatImage) -> tuple[FloatImage, FloatImage]:
    """(alpha, decontaminated rgb) at the photo's full resolution."""
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    size = (round(width * scale), round(height * scale))
    small = f32(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    small_prob = f32(cv2.resize(prob, size, interpolation=cv2.INTER_AREA))
    hard, diff = hard_mask(small, small_prob)
    coarse = f32(cv2.resize(hard.astype(np.float32), (width, height)))
    # The guide is smoothed first so the matte follows the product's edges, not sensor grain.
    grey = f32(cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), 1.0))
    soft = guided_filter(grey, coarse, max(2, round(1.5 / scale)), 4e-3)
    alpha = f32(np.clip((soft - 0.5) * 2.0 + 0.5, 0.0, 1.0))
    backdrop = np.array(diff.backdrop_rgb, np.float32)
    return alpha, decontaminate(rgb, alpha, backdrop)
