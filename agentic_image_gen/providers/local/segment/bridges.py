"""Join strand pieces to the product along the faint line that links them.

A cord hangs from a bail too fine for any threshold, a hook crosses another and breaks where
they meet, a neck wire passes through a bail in shadow. The pieces are found (strands.py);
what joins them is a path of pixels that still look a little like a line. The cheapest such
path (Dijkstra over a small window, a plain backdrop pixel costing several times a line
pixel) is added when it is short and line-like on average; a long strand with no such path
still joins, as before, past a loop too fine to see. Pieces join one another too, nearest
first, so a hook in three pieces comes back whole, and two joined halves of a loop broken at
a glint are closed where their ends meet.
"""

from __future__ import annotations

import heapq

import cv2
import numpy as np

from agentic_image_gen.providers.local.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.providers.local.segment.masks import components

LINE_Z = 3.0  # robust deviations of the line response at which a pixel costs the least
PENALTY = 4.0  # a plain backdrop pixel costs 1 + PENALTY times a line pixel
ADJACENT = 1.5  # px: a piece this close already touches; nothing to draw between
PATH_Z = 1.5  # a path's mean deviation for it to count as the line that joins
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def cheapest_path(cost: FloatImage, start: Mask, goal: Mask) -> list[tuple[int, int]] | None:
    """The cheapest 8-connected path from any ``start`` pixel to any ``goal`` pixel (the
    goal pixel excluded), or None when none is reachable."""
    height, width = cost.shape
    best = np.full(cost.shape, np.inf, np.float64)
    came = np.full((*cost.shape, 2), -1, np.int32)
    queue: list[tuple[float, int, int]] = []
    for y, x in np.argwhere(start):
        best[y, x] = 0.0
        queue.append((0.0, int(y), int(x)))
    heapq.heapify(queue)
    while queue:
        spent, y, x = heapq.heappop(queue)
        if spent > best[y, x]:
            continue
        if goal[y, x]:
            path = []
            while not start[y, x]:
                path.append((y, x))
                y, x = (int(v) for v in came[y, x])
            return path[1:]  # the goal pixel itself is already the product's
        for dy, dx in NEIGHBOURS:
            ny, nx = y + dy, x + dx
            if 0 <= ny < height and 0 <= nx < width:
                step = spent + float(cost[ny, nx]) * (1.4142 if dy and dx else 1.0)
                if step < best[ny, nx]:
                    best[ny, nx] = step
                    came[ny, nx] = (y, x)
                    heapq.heappush(queue, (step, ny, nx))
    return None


def _window(piece: Mask, joined: Mask, margin: int) -> tuple[slice, slice]:
    """The box around a piece's end nearest the joined mask and that mask's nearest pixel."""
    away = cv2.distanceTransform(u8(~joined), cv2.DIST_L2, 3)
    ys, xs = np.nonzero(piece)
    nearest = int(np.argmin(away[ys, xs]))
    y, x = int(ys[nearest]), int(xs[nearest])
    reach = int(np.ceil(float(away[y, x]))) + margin
    height, width = piece.shape
    return slice(max(0, y - reach), min(height, y + reach + 1)), slice(
        max(0, x - reach), min(width, x + reach + 1)
    )


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
    count, labels, _ = components(pieces & ~product)
    joined = product.copy()
    waiting = set(range(1, count))
    while waiting:
        away = f32(cv2.distanceTransform(u8(~joined), cv2.DIST_L2, 3))
        gaps = {label: float(away[labels == label].min()) for label in waiting}
        label = min(gaps, key=lambda key: gaps[key])
        gap = gaps[label]
        if gap > reach:
            break
        waiting.discard(label)
        piece = labels == label
        if gap <= ADJACENT:
            joined |= piece
            continue
        rows, cols = _window(piece, joined, touch)
        path = cheapest_path(cost[rows, cols], piece[rows, cols], joined[rows, cols])
        if path:
            line = np.zeros_like(piece)
            ys, xs = zip(*path, strict=True)
            line[rows, cols][np.array(ys), np.array(xs)] = True
            # A piece within touch joins anyway; its path closes the gap a glint left.
            if gap <= touch or float(strength[line].mean()) >= PATH_Z:
                grown = cv2.dilate(u8(line), np.ones((3, 3), np.uint8)) > 0
                joined |= piece | grown
                continue
        if gap <= touch or (piece & always).any():
            joined |= piece
    return _close_ends(joined, product, labels, count, cost, strength, touch, reach)


def _close_ends(
    joined: Mask,
    product: Mask,
    labels: np.ndarray,
    count: int,
    cost: FloatImage,
    strength: FloatImage,
    touch: int,
    reach: int,
) -> Mask:
    """Joined pieces that end near one another (a loop broken at a glint, each half joined
    to the product on its own) closed along their cheapest path when it is line-like."""
    height, width = joined.shape
    for label in range(1, count):
        ys, xs = np.nonzero(labels == label)
        # Only the piece's neighbourhood (``reach`` around its box) can hold another end.
        top, left = max(0, ys.min() - reach), max(0, xs.min() - reach)
        box = (
            slice(top, min(height, ys.max() + reach + 1)),
            slice(left, min(width, xs.max() + reach + 1)),
        )
        piece = labels[box] == label
        if not (piece & joined[box]).any():
            continue
        near = cv2.dilate(u8(piece), np.ones((3, 3), np.uint8)) > 0
        others = joined[box] & ~product[box] & ~near
        if not others.any():
            continue
        gap = float(f32(cv2.distanceTransform(u8(~others), cv2.DIST_L2, 3))[piece].min())
        if gap <= ADJACENT or gap > reach:
            continue
        rows, cols = _window(piece, others, touch)
        path = cheapest_path(cost[box][rows, cols], piece[rows, cols], others[rows, cols])
        if not path:
            continue
        line = np.zeros_like(piece)
        py, px = zip(*path, strict=True)
        line[rows, cols][np.array(py), np.array(px)] = True
        if float(strength[box][line].mean()) >= PATH_Z:
            joined[box] |= cv2.dilate(u8(line), np.ones((3, 3), np.uint8)) > 0
    return joined & ~product
