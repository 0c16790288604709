"""A product's mirror image under it, on glass, a mirror or a glossy floor.

A saliency model takes the reflection for more product, and nothing about its colour tells
it from the product: it is the product, flipped about the line where the product meets the
surface, and fainter. That is what is looked for: an axis across the product's lower part
below which the mask, flipped up, matches the mask above (``MIRROR_FIT``), and is a faded
copy of what it lands on: less distinct from the backdrop (``DIMMER``), in the same hue
(``FADED``) and with the same detail (``MIRRORED``). A ring standing upright is symmetric
too, but as distinct below as above; a kept shadow continues the product's lower half as
distinct as it; a matte lower face repeats none of a polished upper face's detail: all
stay. The cut drops what lies under the axis (refine.py); the evaluator counts it as junk
(junk.py). The parameters were set on drawn scenes and the ring on glass of
``photos/more`` (no development photo shows a mirror image), so that photo is no unseen
test of them.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32
from agentic_image_gen.pixels.boxes import box
from agentic_image_gen.providers.local.segment.parameters import (
    AXIS_REACH,
    DIMMER,
    FADED,
    MATCH,
    MIN_CONTRAST,
    MIRROR_FIT,
    MIRRORED,
    REFLECTION_MIN,
)


def smoothed(offset: FloatImage) -> FloatImage:
    """``offset`` blurred over ``MATCH`` px: a reflection lands a pixel or two off its
    original (perspective, a curved surface), so they are compared by their neighbourhoods."""
    return f32(cv2.GaussianBlur(offset, (0, 0), MATCH))


def _fit(mask: Mask, axis: int) -> tuple[Mask, float]:
    """(the mask under row ``axis``, how well it and the mask as deep above it match when
    flipped: their IoU). Both ways: the cap of any rounded shape lands inside it flipped,
    but the shape above the cap's chord is wider than the cap."""
    under = np.zeros_like(mask)
    under[axis + 1 :] = mask[axis + 1 :]
    depth = min(mask.shape[0] - axis - 1, axis)
    below = mask[axis + 1 : axis + 1 + depth]
    above = mask[axis - depth : axis][::-1]
    return under, float((below & above).sum()) / max(1.0, float((below | above).sum()))


def _faded_copy(under: Mask, axis: int, offset: FloatImage, mask: Mask) -> bool:
    """Whether ``under`` is what it mirrors, faded towards the backdrop: its step from the
    backdrop (Lab, ``offset``) a fraction of its original's (a kept shadow under a
    product's lower half is as distinct as the half it continues), in the same direction (a
    reflection keeps its hue; a stone over a band of another metal does not), with the same
    detail."""
    ys, xs = np.nonzero(under)
    up = 2 * axis - ys
    lands = (up >= 0) & mask[np.clip(up, 0, mask.shape[0] - 1), xs]
    if lands.sum() < REFLECTION_MIN * under.sum():
        return False
    mine, theirs = offset[ys[lands], xs[lands]], offset[up[lands], xs[lands]]
    # Where the original stands out from the backdrop, the copy stands out less (the
    # backdrop around and inside the product, alike on both sides, says nothing).
    distinct = np.linalg.norm(theirs, axis=1) >= MIN_CONTRAST
    if distinct.sum() < REFLECTION_MIN * under.sum():
        return False  # it mirrors the backdrop, not the product
    faded = np.median(np.linalg.norm(mine[distinct], axis=1)) <= DIMMER * np.median(
        np.linalg.norm(theirs[distinct], axis=1)
    )
    # In its original's hue: the original, faded, explains it.
    scale = float((mine * theirs).sum()) / max(1e-6, float((theirs * theirs).sum()))
    unexplained = float(((mine - scale * theirs) ** 2).sum()) / max(1e-6, float((mine**2).sum()))
    # And it repeats its original's detail, flipped (a faceted stone's facets, a band's
    # engraving): a matte lower face under a polished upper one repeats none of it.
    mine_c, theirs_c = mine - mine.mean(axis=0), theirs - theirs.mean(axis=0)
    norm = float(np.sqrt((mine_c**2).sum() * (theirs_c**2).sum()))
    detail = float((mine_c * theirs_c).sum()) / max(norm, 1e-6)
    return bool(faded) and unexplained <= FADED and detail >= MIRRORED


def reflection(mask: Mask, offset: FloatImage) -> Mask:
    """The part of ``mask`` that is the product's reflection under it (empty if none).
    ``offset``: each pixel's signed Lab step from the backdrop (Difference.offset), smoothed
    a little so a reflection a pixel off its original still matches it."""
    found = box(mask)
    empty = np.zeros_like(mask)
    if found is None:
        return empty
    top, bottom = found[1], found[3] - 1
    area = float(mask.sum())
    highest = bottom - round(AXIS_REACH * (bottom - top))
    # The line the product stands on is the axis about which its shape is best mirrored;
    # only there is the colour judged (a symmetric product, judged an axis off its own,
    # would look faded where its two halves miss each other).
    best: tuple[float, int] = (MIRROR_FIT, -1)
    for axis in range(max(top + 1, highest), bottom):
        under, fit = _fit(mask, axis)
        if under.sum() < REFLECTION_MIN * area:
            break
        if fit >= best[0]:
            best = (fit, axis)
    if best[1] < 0:
        return empty
    under, _ = _fit(mask, best[1])
    return under if _faded_copy(under, best[1], offset, mask) else empty
