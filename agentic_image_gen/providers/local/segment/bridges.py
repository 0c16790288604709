"""Join strand pieces to the product along the faint line that links them.

A cord hangs from a bail too fine for any threshold, a hook crosses another and breaks where
they meet, a neck wire passes through a bail in shadow. The pieces are found (strands.py);
what joins them is a path of pixels that still look a little like a line. The cheapest such
path (scikit-image's minimum-cost path over a small window, a plain backdrop pixel costing
several times a line pixel) is added when it is short and line-like on average; a long
strand with no such path still joins, as before, past a loop too fine to see. Pieces join
one another too, nearest first, so a hook in three pieces comes back whole, and two joined
halves of a loop broken at a glint are closed where their ends meet.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.graph import MCP_Geometric

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.providers.local.segment.masks import components
from agentic_image_gen.providers.local.segment.parameters import (
    ADJACENT,
    LINE_Z,
    PATH_Z,
    PENALTY,
)


def cheapest_path(cost: FloatImage, start: Mask, goal: Mask) -> list[tuple[int, int]] | None:
    """The pixels of the cheapest 8-connected path from any ``start`` pixel to the nearest
    ``goal`` pixel (both ends left out), or None when none is reachable. scikit-image's
    minimum-cost-path search from many seeds at once (a step costs the mean of its two
    pixels' costs times its length), stopped at the first goal reached."""
    if not start.any() or not goal.any():
        return None
    search = MCP_Geometric(cost.astype(np.float64), fully_connected=True)
    spent, _ = search.find_costs(np.argwhere(start), ends=np.argwhere(goal), find_all_ends=False)
    reached = np.where(goal, spent, np.inf)
    end = np.unravel_index(int(np.argmin(reached)), cost.shape)
    if not np.isfinite(reached[end]):
        return None
    route = search.traceback(end)[:-1]  # from its seed; the goal pixel is the product's
    return [(int(y), int(x)) for y, x in route if not start[y, x]]


def _bridge(
    cost: FloatImage, piece: Mask, target: Mask, away: FloatImage, margin: int
) -> Mask | None:
    """The cheapest path from ``piece`` to ``target`` (``away``: the distance to it), searched
    in the box around the piece's nearest end, as a mask; None when there is none."""
    ys, xs = np.nonzero(piece)
    nearest = int(np.argmin(away[ys, xs]))
    y, x = int(ys[nearest]), int(xs[nearest])
    reach = int(np.ceil(float(away[y, x]))) + margin
    height, width = piece.shape
    rows = slice(max(0, y - reach), min(height, y + reach + 1))
    cols = slice(max(0, x - reach), min(width, x + reach + 1))
    path = cheapest_path(cost[rows, cols], piece[rows, cols], target[rows, cols])
    if not path:
        return None
    line = np.zeros_like(piece)
    py, px = zip(*path, strict=True)
    line[rows, cols][np.array(py), np.array(px)] = True
    return line


def _widened(line: Mask) -> Mask:
    """A mask grown a pixel each way: a path as wide as a fine wire (3 px at work scale)."""
    return np.asarray(cv2.dilate(u8(line), np.ones((3, 3), np.uint8)) > 0)


def join(
    product: Mask,
    pieces: Mask,
    strength: FloatImage,
    touch: int,
    reach: int,
    always: Mask,
) -> Mask:
    """What joins the product (the product itself left out): every piece that touches it,
    or that a short line-like path joins to it (or to a piece already joined), with that
    path. Pieces in ``always`` (long strands) join within ``reach`` even without such a
    path; joined pieces that end near one another are then closed (``_close_ends``)."""
    cost = f32(1.0 + PENALTY * np.clip(LINE_Z - strength, 0.0, LINE_Z) / LINE_Z)
    count, labels, stats = components(pieces & ~product)
    joined = product.copy()
    waiting = np.zeros(count, bool)
    waiting[1:] = True
    flat = labels.ravel()
    while waiting.any():
        away = f32(cv2.distanceTransform(u8(~joined), cv2.DIST_L2, 3))
        gaps = np.full(count, np.inf)
        np.minimum.at(gaps, flat, away.ravel())
        gaps[~waiting] = np.inf
        label = int(np.argmin(gaps))
        gap = float(gaps[label])
        if gap > reach:
            break
        waiting[label] = False
        piece = labels == label
        if gap <= ADJACENT:
            joined |= piece
            continue
        line = _bridge(cost, piece, joined, away, touch)
        # A piece within touch joins anyway; its path closes the gap a glint left.
        if line is not None and (gap <= touch or float(strength[line].mean()) >= PATH_Z):
            joined |= piece | _widened(line)
        elif gap <= touch or (piece & always).any():
            joined |= piece
    return _close_ends(joined, product, labels, stats, cost, strength, touch, reach)


def _close_ends(
    joined: Mask,
    product: Mask,
    labels: np.ndarray,
    stats: np.ndarray,
    cost: FloatImage,
    strength: FloatImage,
    touch: int,
    reach: int,
) -> Mask:
    """Joined pieces that end near one another (a loop broken at a glint, each half joined
    to the product on its own) closed along their cheapest path when it is line-like."""
    height, width = joined.shape
    for label in range(1, len(stats)):
        # Only the piece's neighbourhood (``reach`` around its box) can hold another end.
        left, top, wide, tall = (int(v) for v in stats[label, :4])
        box = (
            slice(max(0, top - reach), min(height, top + tall + reach)),
            slice(max(0, left - reach), min(width, left + wide + reach)),
        )
        piece = labels[box] == label
        if not (piece & joined[box]).any():
            continue
        others = joined[box] & ~product[box] & ~_widened(piece)
        if not others.any():
            continue
        away = f32(cv2.distanceTransform(u8(~others), cv2.DIST_L2, 3))
        gap = float(away[piece].min())
        if gap <= ADJACENT or gap > reach:
            continue
        line = _bridge(cost[box], piece, others, away, touch)
        if line is not None and float(strength[box][line].mean()) >= PATH_Z:
            joined[box] |= _widened(line)
    return joined & ~product
