"""Refinement on top of any segmenter's map: the product whole, its holes open, soft edges.

Saliency models see a ring as a blob and a chain as noise. On a copy at most ``WORK_SIDE``
pixels on its longer side (so the cost stays bounded), this clears regions that show the
backdrop (holes.py: a ring's inside, the gap in a necklace, the contact shadow, a glossy
sweep's spill), drops the product's mirror image under it on glass or a mirror
(reflection.py), drops specks, and adds thin parts that hang on the product (strands.py:
chains, cords, hooks, bails). The hard mask then gets a soft edge from a guided filter that
follows the full-resolution photo, thin parts their alpha from the photo's colours (matte.py:
the guided filter would smear a wire's band over the cloth around it), and edge colours are
decontaminated of the backdrop's colour.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from agentic_image_gen.core.errors import UnusableReference
from agentic_image_gen.pixels.alpha import OPAQUE
from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.pixels.boxes import box
from agentic_image_gen.pixels.shrink import within
from agentic_image_gen.providers.local.segment.background import Difference, difference
from agentic_image_gen.providers.local.segment.holes import clear_holes, drop_spill
from agentic_image_gen.providers.local.segment.masks import drop_specks
from agentic_image_gen.providers.local.segment.matte import strand_alpha
from agentic_image_gen.providers.local.segment.parameters import (
    MIN_CONTRAST,
    MIN_PRODUCT,
    STRAND,
    WORK_SIDE,
)
from agentic_image_gen.providers.local.segment.reflection import reflection, smoothed
from agentic_image_gen.providers.local.segment.strands import add_thin_parts


def guided_filter(guide: FloatImage, source: FloatImage, radius: int, eps: float) -> FloatImage:
    """He et al.'s guided filter (grey guide): edges of ``source`` snap to edges of ``guide``."""
    size = (2 * radius + 1, 2 * radius + 1)

    def local_mean(x: FloatImage) -> FloatImage:
        return f32(cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT))

    mean_i, mean_p = local_mean(guide), local_mean(source)
    cov = local_mean(f32(guide * source)) - mean_i * mean_p
    var = local_mean(f32(guide * guide)) - mean_i * mean_i
    a = f32(cov / (var + eps))
    b = f32(mean_p - a * mean_i)
    return f32(local_mean(a) * guide + local_mean(b))


class Refined(NamedTuple):
    hard: Mask  # the whole product at work scale
    diff: Difference
    strands: Mask  # the thin parts added to the model's product (chains, cords, hooks)


def hard_mask(small: FloatImage, prob: FloatImage, coarse: bool = True) -> Refined:
    """The refined hard mask at work scale; a tiny or low-contrast product is refused.

    A ``coarse`` map (U²-Netp's 320 px, GrabCut's) gets every step. A fine map (IS-Net's and
    BiRefNet's 1024 px) gets only those that do not assume a coarse one: opening the holes
    that show the backdrop (a ring's inside), dropping a mirror image under the product, and
    dropping specks. The steps tuned to a coarse map's faults stay off for it until they are
    measured on its maps (no model hub here): the spill past the outline (an upsampled
    map's) and the thin parts a coarse map misses."""
    diff = difference(small)
    hard = drop_specks(prob > 0.5)
    # The 90th percentile: a model's filled ring is mostly backdrop, its band is not.
    contrast = float(np.percentile(diff.any[hard], 90)) if hard.any() else 0.0
    if contrast < MIN_CONTRAST:
        raise UnusableReference(
            f"the product in the reference photo hardly differs from its background (contrast "
            f"{contrast:.1f}): use a photo on a plain, contrasting backdrop"
        )
    hard = clear_holes(hard, diff)
    if coarse:
        hard = drop_spill(hard, small, prob, diff)
    mirror = reflection(hard, smoothed(diff.offset))
    hard = hard & ~mirror
    hard = drop_specks(cv2.morphologyEx(u8(hard), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0)
    body = hard
    if coarse:
        hard = add_thin_parts(body, diff)  # after the speck filter: a strand may stand apart
        # The reflection's own edges look like strands: nothing is added back inside it.
        hard &= ~(cv2.dilate(u8(mirror), np.ones((5, 5), np.uint8)) > 0) | body
    share = float(hard.mean())
    if share < MIN_PRODUCT:
        raise UnusableReference(
            f"the reference photo shows no product large enough to cut out ({share:.2%} of the "
            "frame): use a photo where the product fills more of the frame"
        )
    return Refined(hard, diff, hard & ~body)


def decontaminate(rgb: FloatImage, alpha: FloatImage, backdrop: FloatImage) -> FloatImage:
    """Edge colours without the backdrop mixed in: F = (I - (1 - a) B) / a on the soft rim."""
    rim = (alpha > 0.0) & (alpha < OPAQUE)
    if not rim.any():
        return rgb
    a = np.maximum(alpha[rim], 0.3)[:, None]
    behind = backdrop[rim] if backdrop.ndim == 3 else backdrop
    clean = rgb.copy()
    clean[rim] = np.clip((rgb[rim] - (1.0 - a) * behind) / a, 0.0, 1.0)
    return f32(clean)


def _strand_matte(
    rgb: FloatImage, refined: Refined, alpha: FloatImage, scale: float
) -> tuple[FloatImage, FloatImage]:
    """(alpha, backdrop per pixel) with the thin parts matted from the photo's colours
    (matte.py) instead of the guided filter's band; unchanged when there are none."""
    height, width = rgb.shape[:2]
    backdrop = np.broadcast_to(np.array(refined.diff.backdrop_rgb, np.float32), rgb.shape)
    if not refined.strands.any():
        return alpha, f32(backdrop)

    size = max(15, round(STRAND * WORK_SIDE / scale))
    # Only the strands' box (and the backdrop around it) is matted: the rest is untouched.
    found = box(refined.strands)
    assert found is not None
    left = max(0, int((found[0] - 1) / scale) - size)
    top = max(0, int((found[1] - 1) / scale) - size)
    right = min(width, int((found[2] + 1) / scale) + size)
    bottom = min(height, int((found[3] + 1) / scale) + size)
    region = (slice(top, bottom), slice(left, right))

    def full(mask: Mask) -> Mask:
        """``mask`` at the photo's resolution, within the box."""
        big = cv2.resize(u8(mask), (width, height), interpolation=cv2.INTER_NEAREST)
        return np.asarray(big[region] > 0)

    def grown(mask: Mask, by: float) -> Mask:
        """``mask`` grown by ``by`` work-scale pixels."""
        side = max(1, round(by / scale)) | 1
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        return np.asarray(cv2.dilate(u8(mask), disc) > 0)

    strands, hard = full(refined.strands), full(refined.hard)
    band = grown(strands, 2.5) & ~grown(hard & ~strands, 1.0)
    clear = ~grown(hard, 4.0)
    matted = strand_alpha(np.ascontiguousarray(rgb[region]), band, grown(strands, 1.0), clear, size)
    if matted is None:
        return alpha, f32(backdrop)
    strand, beside = matted
    # On the strand's own pixels the mask stands (a bright wire on pale linen differs by its
    # edges, not its colour); around them, colour decides how far the strand reaches.
    inside = strands & band
    alpha = alpha.copy()
    here = alpha[region]
    alpha[region] = np.where(inside, np.maximum(here, strand), np.where(band, strand, here))
    behind = np.array(backdrop)
    behind[region] = np.where(band[..., None], beside, behind[region])
    return f32(alpha), f32(behind)


def refine(rgb: FloatImage, prob: FloatImage, coarse: bool = True) -> tuple[FloatImage, FloatImage]:
    """(alpha, decontaminated rgb) at the photo's full resolution (``coarse``: hard_mask)."""
    height, width = rgb.shape[:2]
    small, scale = within(rgb, WORK_SIDE)
    size = (small.shape[1], small.shape[0])
    small_prob = f32(cv2.resize(prob, size, interpolation=cv2.INTER_AREA))
    refined = hard_mask(small, small_prob, coarse)
    upsampled = f32(cv2.resize(refined.hard.astype(np.float32), (width, height)))
    # The guide is smoothed first so the matte follows the product's edges, not sensor grain.
    grey = f32(cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), 1.0))
    soft = guided_filter(grey, upsampled, max(2, round(1.5 / scale)), 4e-3)
    alpha = f32(np.clip((soft - 0.5) * 2.0 + 0.5, 0.0, 1.0))
    alpha, backdrop = _strand_matte(rgb, refined, alpha, scale)
    return alpha, decontaminate(rgb, alpha, backdrop)
