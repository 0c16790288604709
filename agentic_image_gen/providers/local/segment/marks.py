"""A shop's mark in a corner (a badge, a logo, a price tag), painted out before segmenting.

A saliency model looks at the whole frame: a red badge in a corner, far from the product,
still moves its map of the product (where the map hesitates, over a prop or a backdrop
tinted by glass, by enough to change the cut). So what is plainly not backdrop (as the
border band measures it, background.py) and lies wholly in a corner of the frame is filled
from the backdrop around it, and the segmenter and the refinement both see the photo as if
it had no mark. The product is framed nearer the middle; a part of it running off the frame
(a chain) reaches farther in than a corner, so it is not taken for a mark.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.pixels.backdrop import border_band
from agentic_image_gen.pixels.shrink import within
from agentic_image_gen.pixels.similarity import lab as lab_of
from agentic_image_gen.providers.local.segment.background import plainly_not_backdrop
from agentic_image_gen.providers.local.segment.masks import components
from agentic_image_gen.providers.local.segment.parameters import MARK_JOIN, MARK_ZONE, WORK_SIDE


def corner_marks(rgb: FloatImage) -> Mask:
    """The pixels of marks in the frame's corners (at the photo's resolution)."""
    height, width = rgb.shape[:2]
    small, _ = within(rgb, WORK_SIDE)
    lab = lab_of(small)
    rows, cols = lab.shape[:2]
    far = plainly_not_backdrop(lab, lab[border_band(rows, cols)])
    short = min(rows, cols)
    join = max(1, round(MARK_JOIN * short)) | 1
    count, labels, stats = components(cv2.dilate(u8(far), np.ones((join, join), np.uint8)) > 0)
    zone = MARK_ZONE * short
    marks = np.zeros(count, bool)
    for label in range(1, count):
        x, y, w, h = stats[label, :4]
        near_side = x + w <= zone or x >= cols - zone
        near_end = y + h <= zone or y >= rows - zone
        marks[label] = near_side and near_end
    if not marks.any():
        return np.zeros((height, width), bool)
    found = marks[labels] & far
    # Grown by two pixels: the mark's anti-aliased rim is not backdrop either.
    found = cv2.dilate(u8(found), np.ones((5, 5), np.uint8)) > 0
    return np.asarray(
        cv2.resize(u8(found), (width, height), interpolation=cv2.INTER_NEAREST) > 0, bool
    )


def without_marks(rgb: FloatImage) -> FloatImage:
    """``rgb`` with its corner marks filled from the backdrop around them (unchanged when it
    has none)."""
    marks = corner_marks(rgb)
    if not marks.any():
        return rgb
    count, labels, stats = components(marks)
    clean = rgb.copy()
    pad = 8  # px of the photo around a mark that its fill is drawn from (inpaint radius 3)
    for label in range(1, count):
        x, y, w, h = stats[label, :4]
        top, left = max(0, y - pad), max(0, x - pad)
        region = (slice(top, y + h + pad), slice(left, x + w + pad))
        here = labels[region] == label
        patch = u8(np.clip(rgb[region] * 255.0 + 0.5, 0, 255))
        filled = cv2.inpaint(patch, u8(here) * 255, 3, cv2.INPAINT_TELEA)
        clean[region][here] = f32(filled[here]) / 255.0
    return f32(clean)
