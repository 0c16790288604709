"""Openings and reflections that a saliency model paints as product, found and taken out.

A model sees a ring as a blob: its inside, where the backdrop shows through, and on a glossy
sweep a piece of the product's mirror image below it come out as product. ``clear_holes``
opens regions whose colour is the backdrop's. On a flat sweep, ``drop_spill`` cuts off the
part of the mirror image below the product that the model's map spilled onto (a whole mirror
image under the product is reflection.py's).
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, u8
from agentic_image_gen.pixels.similarity import lab as lab_of
from agentic_image_gen.providers.local.segment.background import Difference
from agentic_image_gen.providers.local.segment.masks import components
from agentic_image_gen.providers.local.segment.parameters import (
    HOLE_LARGE,
    HOLE_LIKE,
    HOLE_MEAN,
    HOLE_MEAN_LARGE,
    HOLE_MIN,
    HOLE_MIN_TEXTURED,
    REFLECTED,
    SPILL_MAX,
    SURE,
    THICK,
)
from agentic_image_gen.providers.local.segment.parameters import (
    HOLE_SMOOTH as SMOOTH,
)


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
    smallest = HOLE_MIN if not diff.textured else HOLE_MIN_TEXTURED
    keep = (area >= 24) & (share >= smallest) & (backdrop | (shadow & on_outline))
    holes = np.isin(labels, 1 + np.flatnonzero(keep))
    grown = cv2.dilate(u8(holes), np.ones((3, 3), np.uint8)) > 0
    return hard & ~(grown & (diff.any < HOLE_LIKE * 1.6))


def lab_bytes(rgb: FloatImage, sigma: float) -> np.ndarray:
    """The photo in Lab, smoothed by ``sigma`` px, as the 8-bit image ``cv2.watershed`` takes:
    its flooding follows colour steps between neighbours, so it stops at the largest one."""
    lab = cv2.GaussianBlur(lab_of(rgb), (0, 0), sigma)
    scaled = lab * np.array([2.55, 1.0, 1.0], np.float32) + np.array([0, 128, 128], np.float32)
    return np.ascontiguousarray(np.clip(scaled, 0, 255).astype(np.uint8))


def _spills(hard: Mask, rgb: FloatImage, prob: FloatImage) -> Mask:
    """Where the mask's outline can move inwards to a stronger edge: the pixels the model
    hesitates over, given to the backdrop or the product by a watershed between the two."""
    outside = exterior(hard)
    markers = np.full(hard.shape, 2, np.int32)  # the product, and its holes left as they are
    markers[hard & (prob < SURE)] = 0
    markers[outside] = 1
    cv2.watershed(lab_bytes(rgb, SMOOTH), markers)
    return np.asarray(hard & (markers == 1), bool)


def drop_spill(hard: Mask, rgb: FloatImage, prob: FloatImage, diff: Difference) -> Mask:
    """On a flat sweep, cut off the piece of the product's mirror image that the model's map
    spilled onto: a thick hesitant piece on the outline, beyond the product's edge, whose
    outside neighbours are mostly not the backdrop (the reflection goes on past the map). A
    part of the product the model hesitates over meets the backdrop along its outline."""
    if diff.textured or not (hard & (prob < SURE)).any():
        return hard
    spill = _spills(hard, rgb, prob)
    size = max(3, round(THICK * max(hard.shape)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    thick = cv2.morphologyEx(u8(spill), cv2.MORPH_OPEN, kernel) > 0
    count, labels, stats = components(spill)
    outside = exterior(hard)
    reflection = np.zeros(count, bool)
    for label in np.unique(labels[thick]):
        if label == 0 or stats[label, cv2.CC_STAT_AREA] > SPILL_MAX * hard.sum():
            continue
        piece = labels == label
        beside = (cv2.dilate(u8(piece), np.ones((5, 5), np.uint8)) > 0) & outside
        reflection[label] = bool(beside.any()) and (
            float((diff.any[beside] > HOLE_LIKE).mean()) >= REFLECTED
        )
    return np.asarray(hard & ~reflection[labels], bool)
