"""Cut the product out of a reference photo: its own alpha channel, or GrabCut.

GrabCut runs on a copy at most ``WORK_SIDE`` pixels on its longer side (the cost grows with
the pixel count), seeded from the photo itself: the border is background, pixels whose colour
is far from the border's colour are probably product. The hard mask is then upsampled and
refined into a soft edge with a guided filter that follows the full-resolution image, so hair-
fine rims stay smooth without a second GrabCut at full size. One cut-out per reference per run
is cached in the run's shared provider state, which the studio and the evaluator both use.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.providers.local.arrays import FloatImage, f32, u8

WORK_SIDE = 512
CACHE_KEY = "local.cutouts"
MIN_ALPHA = 0.02  # softer than this is noise, not edge: it becomes exactly 0


@dataclass(frozen=True)
class Cutout:
    """The product alone: straight (unpremultiplied) sRGB colour and alpha, cropped.

    ``centre`` and ``extent`` are the product's box in the reference as fractions of its width
    and height, which is what 'as shot' framing keeps.
    """

    rgb: FloatImage
    alpha: FloatImage
    centre: tuple[float, float]
    extent: tuple[float, float]
    from_alpha_channel: bool


def decode_reference(data: bytes) -> tuple[FloatImage, FloatImage | None]:
    """RGB in [0, 1], and the alpha channel when the image really uses one."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    alpha = rgba[..., 3]
    real_alpha = has_alpha and float(alpha.min()) < 0.98
    return np.ascontiguousarray(rgba[..., :3]), (alpha if real_alpha else None)


def _seeds(small: FloatImage) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """GrabCut's starting labels, and which pixels look like shadow on the table.

    The border is background; pixels whose colour (or brightness, when brighter) stands out
    from the border's are probably product. Darker pixels of the border's own colour are
    shadows, the usual false product: they stay probable background.
    """
    height, width = small.shape[:2]
    band = max(4, round(0.03 * min(height, width)))
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)
    border = np.ones((height, width), bool)
    border[band:-band, band:-band] = False
    samples = lab[border]
    mean, spread = samples.mean(axis=0), samples.std(axis=0) + 1.0
    chroma = np.hypot(*((lab[..., 1:] - mean[1:]) / spread[1:]).transpose(2, 0, 1))
    lighter = (lab[..., 0] - mean[0]) / spread[0]
    score = np.maximum(chroma, lighter)
    mask = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    mask[score > 4.0] = cv2.GC_PR_FGD
    sure = cv2.erode((score > 10.0).astype(np.uint8), np.ones((3, 3), np.uint8))
    mask[sure > 0] = cv2.GC_FGD
    mask[border] = cv2.GC_BGD
    return mask, (chroma < 3.0) & (lighter < 0.0)


def _clean(mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Drop specks and small islands; keep the product's parts (a stone, a loose charm)."""
    opened = u8(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if count <= 1:
        return opened
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= 0.05 * areas.max())
    return np.isin(labels, keep).astype(np.uint8)


def guided_filter(guide: FloatImage, source: FloatImage, radius: int, eps: float) -> FloatImage:
    """He et al.'s guided filter (grey guide): edges of ``source`` snap to edges of ``guide``."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: FloatImage) -> FloatImage:
        return f32(cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT))

    mean_i, mean_p = box(guide), box(source)
    cov = box(f32(guide * source)) - mean_i * mean_p
    var = box(f32(guide * guide)) - mean_i * mean_i
    a = f32(cov / (var + eps))
    b = f32(mean_p - a * mean_i)
    return f32(box(a) * guide + box(b))


def segment(rgb: FloatImage) -> FloatImage:
    """A soft alpha matte of the product in an opaque photo."""
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    size = (round(width * scale), round(height * scale))
    small = f32(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    mask, shadow_like = _seeds(small)
    seeded = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if not seeded.any():
        raise ProviderError("the reference photo shows nothing that stands out from its border")
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    work = (small * 255).astype(np.uint8)
    cv2.grabCut(  # type: ignore[call-overload]  # the stubs do not allow rect=None
        work, mask, None, background_model, foreground_model, 4, cv2.GC_INIT_WITH_MASK
    )
    found = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
    # A colourful product (gold, gems) never has table-coloured darks: those are its shadow.
    # A neutral one (silver on grey) might, so there GrabCut's answer stands.
    if (seeded & ~shadow_like).sum() > 0.6 * max(1, int(found.sum())):
        found &= ~shadow_like
    hard = _clean(found.astype(np.uint8))
    if not hard.any():
        raise ProviderError("could not separate the product from the reference photo's background")
    coarse = f32(cv2.resize(hard.astype(np.float32), (width, height)))
    # The guide is smoothed first so the matte follows the product's edges, not sensor grain.
    grey = f32(cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), 1.0))
    radius = max(2, round(1.5 / scale))
    soft = guided_filter(grey, coarse, radius, 4e-3)
    return f32(np.clip((soft - 0.5) * 2.0 + 0.5, 0.0, 1.0))


def cut_out(data: bytes) -> Cutout:
    """The product of one reference image (CPU-bound: call it in a thread)."""
    rgb, alpha = decode_reference(data)
    from_alpha = alpha is not None
    if alpha is None:
        alpha = segment(rgb)
    alpha = np.where(alpha < MIN_ALPHA, 0.0, alpha).astype(np.float32)
    height, width = alpha.shape
    solid = np.argwhere(alpha > 0.5)
    if solid.size == 0:
        raise ProviderError("the reference image has no visible product (it is all transparent)")
    (top, left), (bottom, right) = solid.min(axis=0), solid.max(axis=0) + 1
    centre = ((left + right) / 2 / width, (top + bottom) / 2 / height)
    extent = ((right - left) / width, (bottom - top) / height)
    visible = np.argwhere(alpha > 0)
    (y0, x0), (y1, x1) = visible.min(axis=0), visible.max(axis=0) + 1
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return Cutout(
        rgb=crop,
        alpha=np.ascontiguousarray(alpha[y0:y1, x0:x1]),
        centre=(float(centre[0]), float(centre[1])),
        extent=(float(extent[0]), float(extent[1])),
        from_alpha_channel=from_alpha,
    )


async def cutout_for(reference: ReferenceImage, shared: dict[str, Any]) -> Cutout:
    """The cached cut-out of ``reference`` for this run, computed once in a worker thread."""
    cache: dict[str, asyncio.Task[Cutout]] = shared.setdefault(CACHE_KEY, {})
    key = hashlib.sha256(reference.data).hexdigest()
    task = cache.get(key)
    if task is None:
        task = asyncio.ensure_future(asyncio.to_thread(cut_out, reference.data))
        cache[key] = task
    try:
        return await asyncio.shield(task)
    except ProviderError:
        raise
    except (OSError, ValueError, cv2.error) as exc:
        raise ProviderError(f"could not cut the product out of {reference.source}: {exc}") from exc
