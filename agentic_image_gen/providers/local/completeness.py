"""Is the product whole? A second look at the reference that owes nothing to the cut-out.

The reference photo is segmented again, independently of the cut: pixels that clearly differ
from its backdrop (another colour, much lighter, much darker than any shadow, or a thin dark
or light strand such as a chain or a cord), and, when the cut was not made by the bundled
model, that model's refined mask too (a white band on a white sweep differs by no colour).
The shot's product mask is mapped back onto the photo (its box onto the cut-out's box there)
and every clearly different part attached to the product but absent from the shot counts as
missing: dropped bands, bails, hooks and chains show up even when the shot looks clean. The
map needs the shot to show the product in the reference's pose (the studio's shots do); a
shot that re-poses it is left unjudged here rather than judged wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.providers.local.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.providers.local.cutout import Cutout
from agentic_image_gen.providers.local.measure import box, largest_parts
from agentic_image_gen.providers.local.segment import Segmenter
from agentic_image_gen.providers.local.segment.background import difference
from agentic_image_gen.providers.local.segment.refine import WORK_SIDE as REFINE_SIDE
from agentic_image_gen.providers.local.segment.refine import hard_mask
from agentic_image_gen.providers.local.segment.strands import thin_lines

WORK_SIDE = 512
MISSING_LIMIT = 0.02  # missing share of the product above which it is incomplete
POSE_MIN = 0.6  # below this the shot is not the reference's pose: nothing to map
REACH = 0.015  # of the photo: closer than this to the shot's product is not missing (alignment)
PIECE = 0.005  # a missing piece smaller than this share of the product is texture
DARK_STEP = 40.0  # Lab lightness below the backdrop that no soft shadow or reflection reaches


@dataclass(frozen=True)
class Completeness:
    missing: float  # share of the product (as the reference shows it) absent from the shot
    parts: int  # separate missing pieces
    pose: float  # shape agreement of the shot's product with the cut-out's (box-normalised IoU)

    @property
    def compared(self) -> bool:
        """Whether the shot shows the product as the reference does, so parts can be mapped;
        a generator that re-poses the product (a model) is not judged on this."""
        return self.pose >= POSE_MIN

    @property
    def whole(self) -> bool:
        return not self.compared or self.missing <= MISSING_LIMIT


def distinct(rgb: FloatImage) -> Mask:
    """What clearly differs from the photo's backdrop, at ``WORK_SIDE`` (CPU-bound)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    size = (round(width * scale), round(height * scale))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    diff = difference(np.asarray(small, np.float32))
    dark = (diff.darker > 6.0) & (diff.delta_l < -DARK_STEP)
    strong = (diff.chroma > 6.0) | (diff.lighter > 6.0) | dark
    strong |= thin_lines(diff, max(7, round(0.02 * max(small.shape[:2])) | 1))
    return cv2.morphologyEx(u8(strong), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0


def second_opinion(rgb: FloatImage, segmenter: Segmenter | None) -> Mask:
    """``distinct``, joined (when one is given) by another segmenter's refined mask at the
    same scale: a white band on a white sweep has no colour to stand out by, but a saliency
    model still sees it. The caller picks a segmenter other than the one that made the cut."""
    seen = distinct(rgb)
    if segmenter is None:
        return seen
    height, width = rgb.shape[:2]
    scale = min(1.0, REFINE_SIDE / max(height, width))
    size = (round(width * scale), round(height * scale))
    small = f32(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    prob = f32(cv2.resize(segmenter.segment(rgb), size, interpolation=cv2.INTER_AREA))
    try:
        model = hard_mask(small, prob).hard
    except ProviderError:  # that segmenter sees no product here: no opinion
        return seen
    flat = cv2.resize(u8(model), (seen.shape[1], seen.shape[0]), interpolation=cv2.INTER_AREA)
    return seen | (np.asarray(flat) > 0)


def _warp(shot_mask: Mask, cut: Cutout, shape: tuple[int, int]) -> Mask | None:
    """The shot's product drawn where the cut-out's solid box sits in the reference."""
    found = box(shot_mask)
    solid = box(_solid(cut))
    if found is None or solid is None or cut.source_size == (0, 0):
        return None
    height, width = shape
    fx, fy = width / cut.source_size[0], height / cut.source_size[1]
    left = round((cut.origin[0] + solid[0]) * fx)
    top = round((cut.origin[1] + solid[1]) * fy)
    right = max(left + 1, round((cut.origin[0] + solid[2]) * fx))
    bottom = max(top + 1, round((cut.origin[1] + solid[3]) * fy))
    crop = shot_mask[found[1] : found[3], found[0] : found[2]].astype(np.uint8)
    placed = np.zeros(shape, bool)
    resized = cv2.resize(crop, (right - left, bottom - top), interpolation=cv2.INTER_AREA) > 0
    placed[top:bottom, left:right] = resized[: height - top, : width - left]
    return placed


def _shape(mask: Mask) -> Mask:
    found = box(mask)
    assert found is not None
    crop = mask[found[1] : found[3], found[0] : found[2]].astype(np.uint8)
    return np.asarray(cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA)) > 0


def _solid(cut: Cutout) -> Mask:
    """The cut-out's product as a shot's product mask is measured (measure.product_mask):
    the same pieces kept, so a speck the shot's measure drops cannot shift the box."""
    return largest_parts(cut.alpha > 0.5)


def pose_agreement(shot_mask: Mask, cut: Cutout) -> float:
    """IoU of the shot's product and the cut-out's, each scaled to its box."""
    a, b = _shape(shot_mask), _shape(_solid(cut))
    return float((a & b).sum() / max(1, (a | b).sum()))


def completeness(shot_mask: Mask, cut: Cutout, seen: Mask) -> Completeness | None:
    """How much of what ``seen`` (``distinct`` of the reference) shows is missing from the
    shot; None when the shot has no product to compare."""
    placed = _warp(shot_mask, cut, seen.shape)
    if placed is None or not placed.any():
        return None
    pose = pose_agreement(shot_mask, cut)
    reach = max(3, round(REACH * max(seen.shape)))
    near = cv2.dilate(u8(placed), np.ones((reach, reach), np.uint8)) > 0
    count, labels, _, _ = cv2.connectedComponentsWithStats(u8(seen | placed), connectivity=8)
    attached = np.unique(labels[placed])
    missing = seen & ~near & np.isin(labels, attached[attached > 0])
    # Texture (linen weave, wood grain) leaves specks; a lost part is a piece of some size.
    _, parts, stats, _ = cv2.connectedComponentsWithStats(u8(missing), connectivity=8)
    big = 1 + np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= PIECE * float(placed.sum()))
    missing = np.isin(parts, big)
    share = float(missing.sum()) / max(1.0, float((placed | missing).sum()))
    return Completeness(missing=share, parts=int(big.size) if count > 1 else 0, pose=pose)
