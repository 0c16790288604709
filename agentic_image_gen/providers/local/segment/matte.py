"""The alpha of thin parts, from the photo's own colours at full resolution.

A chain or a wire is a few pixels wide at the work scale, so its hard mask, upsampled and
smoothed by the guided filter, is a band that carries the cloth between two strands of chain
and the weave on either side of a wire. Within a strand's band each pixel's alpha is instead
how far its colour is from the backdrop right beside it (the photo blurred over the backdrop
alone), above that backdrop's own texture, against how far the strand's clearest pixels are:
the links come out opaque, the linen between them clear, a highlight as solid as the metal.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.pixels.arrays import FloatImage, Mask, f32, u8
from agentic_image_gen.providers.local.segment.background import local_backdrop
from agentic_image_gen.providers.local.segment.parameters import (
    CLEAREST,
    MIN_STEP,
    TEXTURE,
)


def strand_alpha(
    rgb: FloatImage, band: Mask, core: Mask, backdrop: Mask, size: int
) -> tuple[FloatImage, FloatImage] | None:
    """(alpha within ``band``, the backdrop beside each pixel), or None when the strands do
    not stand out from the backdrop's texture enough for colour to decide."""
    beside = local_backdrop(rgb, backdrop, size)
    step = f32(rgb - beside)
    deviation = f32(np.sqrt(np.einsum("ijk,ijk->ij", step, step)))
    ring = backdrop & (cv2.dilate(u8(band), np.ones((size | 1, size | 1), np.uint8)) > 0)
    if not ring.any() or not (core & band).any():
        return None
    texture = float(np.percentile(deviation[ring], TEXTURE))
    clearest = float(np.percentile(deviation[core & band], CLEAREST))
    if clearest - texture < MIN_STEP:
        return None
    alpha = np.clip((deviation - texture) / (clearest - texture), 0.0, 1.0)
    return f32(np.where(band, alpha, 0.0)), beside
