"""Openings that a saliency model paints as product, found and taken out.

A model sees a ring as a blob: its inside, where the backdrop shows through, comes out as
product. ``clear_holes`` opens regions whose colour is the backdrop's.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.providers.local.arrays import FloatImage, Mask, u8
from agentic_image_gen.providers.local.segment.background import Difference
from agentic_image_gen.providers.local.segment.masks import components

HOLE_LIKE = 2.5  # closer to the backdrop than this (border spreads): may be a hole
HOLE_MEAN = 0.8  # ... and a hole's average colour this close to the backdrop's
HOLE_LARGE, HOLE_MEAN_LARGE = 0.2, 1.2  # a fifth of the product: a looser average will do
HOLE_MIN = 0.03  # ... and this share of the product (a band's white highlight is smaller)
HOLE_MIN_TEXTURED = 0.004  # ... on a textured backdrop, which no highlight mimics
TEXTURED = 3.0  # the backdrop's lightness spread (Lab) above which it is cloth, wood, stone


def exterior(hard: Mask) -> Mask:
    """The background reachable from the frame's edge (not a ring's enclosed inside)."""
    count, labels, _ = components(~hard)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge[edge > 0]) if count > 1 else ~hard


def clear_holes(hard: Mask, diff: Difference) -> Mask:
    """Open up regions inside the mask that show the backdrop (a ring's inside, a necklace's
    gap) and trim its shadow: every pixel close to the backdrop's colour, and the region's
    average colour the backdrop's own, or (on the outline) the backdrop's, only darker. A pale
    stone, enamel or glass is close pixel by pixel but off on average, so it stays."""
    like = hard & (diff.any < HOLE_LIKE)
    like = cv2.morphologyEx(u8(like), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)) > 0
    count, labels, stats = components(like)
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
    near_out = cv2.dilate(u8(exterior(hard)), np.ones((3, 3), np.uint8)) > 0
    on_outline = np.bincount(flat, near_out.ravel(), count)[1:] > 0
    # A flat studio sweep is mimicked by a polished band's white highlight; cloth or wood is
    # not, so there a small opening (a pierced setting, a gap) is the backdrop too.
    smallest = HOLE_MIN if diff.texture < TEXTURED else HOLE_MIN_TEXTURED
    keep = (area >= 24) & (share >= smallest) & (backdrop | (shadow & on_outline))
    holes = np.isin(labels, 1 + np.flatnonzero(keep))
    grown = cv2.dilate(u8(holes), np.ones((3, 3), np.uint8)) > 0
    return hard & ~(grown & (diff.any < HOLE_LIKE * 1.6))
