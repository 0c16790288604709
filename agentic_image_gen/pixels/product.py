"""Where the product is in an image: its alpha channel when the image really uses one, else
what departs from the fitted backdrop (pixels/backdrop.py), by how much it departs.

One estimate, three readings, each with its threshold: the body (framing, similarity: a
high threshold leaves faint shadows and reflections out), every faint part (completeness:
a pale wire, white glass on a white sweep) and a soft weight (delivery composites with it,
so edges stay smooth on a new backdrop).
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.alpha import CLEAR, solid
from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.pixels.decode import Decoded

BODY = 0.2  # distance from the backdrop (largest channel, 0..1) that is the product's body
FAINT = 0.06  # ... that is product when every part matters
SOFT_LOW, SOFT_HIGH = 0.04, 0.14  # ... over which the soft weight ramps from 0 to 1
SPECK = 1 / 20000  # of the frame: smaller separate specks are noise or texture, not product


def largest_parts(mask: Mask, thin: bool = True) -> Mask:
    """The product's pieces: components at least 5% the size of the largest, or (``thin``)
    reaching at least a fifth as far: a hook or a chain apart from the body has little area
    but is long, and dropping it would shift the product's box, which framing and
    completeness measure. An opaque image's mask comes from a backdrop model, where a long
    thin piece is as likely a crease in the sweep: there only the area counts."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(u8(mask), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    reach = np.hypot(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    largest = int(np.argmax(areas))
    keep = areas >= 0.05 * areas[largest]
    if thin:
        keep |= reach >= 0.2 * reach[largest]
    return np.isin(labels, 1 + np.flatnonzero(keep))


def product_mask(image: Decoded, faint: bool = False) -> Mask:
    """The product: the alpha channel's body where the image uses one, else what differs
    from the backdrop. ``faint`` also keeps what differs a little, and thin parts:
    completeness wants every part the shot shows, framing the body without the sweep's
    shading."""
    if image.transparent:
        assert image.alpha is not None
        return largest_parts(solid(image.alpha))
    if faint:
        return largest_parts(image.distance > FAINT)
    body = cv2.morphologyEx(u8(image.distance > BODY), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return largest_parts(body > 0, thin=False)


def product_weight(image: Decoded) -> FloatImage:
    """0 (backdrop) to 1 (product) per pixel: the alpha channel, or a soft ramp of the
    distance from the backdrop with separate specks dropped."""
    if image.transparent:
        assert image.alpha is not None
        return image.alpha
    weight = f32(np.clip((image.distance - SOFT_LOW) / (SOFT_HIGH - SOFT_LOW), 0.0, 1.0))
    body = u8(solid(weight))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(body, connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= max(16, round(body.size * SPECK))
    grown = cv2.dilate(u8(keep[labels]), np.ones((5, 5), np.uint8))
    return f32(weight * grown)


def backdrop_only(weight: FloatImage) -> Mask:
    """Where the weight says backdrop, with no trace of product."""
    return np.asarray(weight < CLEAR)
