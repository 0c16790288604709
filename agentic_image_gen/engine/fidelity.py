"""How faithful an image's product is to the reference's, with no model: the product region
compared with the reference's cut-out after the placement transform.

The product is found in the image (alpha, or difference from the fitted backdrop), the
reference cut-out is scaled and moved onto the product's box (the placement: a uniform
scale and a shift, the same transform a compositor uses), and inside the reference's
silhouette:
- ``ssim``: structural similarity of the luminance (1 is identical detail and shading);
- ``delta_e``: mean CIE76 colour difference in Lab (about 2 is a just-noticeable change;
  metal turning from yellow to rose gold is 10 or more);
- ``shape_iou``: overlap of the two silhouettes (a lost prong, bail or band shows here).
A locked product (its pixels composited back) measures ssim 1.0, delta_e 0; a model that
redrew the ring measures what it changed.
"""

from __future__ import annotations

import asyncio
import contextlib

import cv2
import numpy as np
from numpy.typing import NDArray

from agentic_image_gen.core.types import Fidelity, ReferenceImage
from agentic_image_gen.engine.deliver import backdrop_model, product_weight, rgba_of
from agentic_image_gen.providers.base import ProductCut, ProductCutter

Array = NDArray[np.float32]
WORK_SIDE = 384  # analysis size of the product's box: enough for prongs, fast enough
_C1, _C2 = (0.01 * 1.0) ** 2, (0.03 * 1.0) ** 2


def _box(mask: Array) -> tuple[int, int, int, int] | None:
    rows, cols = np.nonzero(mask > 0.5)
    if rows.size == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _crop(
    rgb: Array, mask: Array, box: tuple[int, int, int, int], size: tuple[int, int]
) -> tuple[Array, Array]:
    """``box`` scaled onto ``size``; parts of the box outside the frame are empty."""
    left, top, right, bottom = box
    sx, sy = size[0] / (right - left), size[1] / (bottom - top)
    # Pixel centres map to pixel centres: (x + 0.5 - left) * sx = x' + 0.5.
    tx, ty = (0.5 - left) * sx - 0.5, (0.5 - top) * sy - 0.5
    matrix = np.array([[sx, 0, tx], [0, sy, ty]], np.float32)
    flags = cv2.INTER_AREA if max(sx, sy) < 1 else cv2.INTER_LINEAR
    moved_rgb = cv2.warpAffine(rgb, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    moved_mask = cv2.warpAffine(mask, matrix, size, flags=flags, borderValue=0)
    return moved_rgb.astype(np.float32), moved_mask.astype(np.float32)


def _blur(image: Array) -> Array:
    return np.asarray(cv2.GaussianBlur(image, (7, 7), 1.5), np.float32)


def _grey(rgb: Array) -> Array:
    """Luminance, with sensor-noise-level grain smoothed (resampling alone changes it)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.asarray(cv2.GaussianBlur(grey, (0, 0), 1.0), np.float32)


def on_grey(rgb: Array, mask: Array) -> Array:
    result: Array = (rgb * mask[..., None] + 0.5 * (1 - mask[..., None])).astype(np.float32)
    return result


def _ssim(first: Array, second: Array, weight: Array) -> float:
    blur = _blur
    mu1, mu2 = blur(first), blur(second)
    var1 = blur(first * first) - mu1 * mu1
    var2 = blur(second * second) - mu2 * mu2
    covar = blur(first * second) - mu1 * mu2
    ssim_map = ((2 * mu1 * mu2 + _C1) * (2 * covar + _C2)) / (
        (mu1 * mu1 + mu2 * mu2 + _C1) * (var1 + var2 + _C2)
    )
    total = float(weight.sum())
    return float((ssim_map * weight).sum() / total) if total else 0.0


def measure(
    reference_rgb: Array, reference_alpha: Array, image_rgb: Array, image_mask: Array
) -> Fidelity | None:
    """The fidelity of the product in ``image`` to the reference cut-out; None when either
    shows no product."""
    ref_box, img_box = _box(reference_alpha), _box(image_mask)
    if ref_box is None or img_box is None:
        return None
    # One size for both crops, with the reference's aspect: the placement is a uniform scale.
    ref_w, ref_h = ref_box[2] - ref_box[0], ref_box[3] - ref_box[1]
    # Compared at the smaller of the two products' sizes (never upsampled: detail one of them
    # does not have is not a difference).
    img_long = max(img_box[2] - img_box[0], img_box[3] - img_box[1])
    scale = min(WORK_SIDE, max(ref_w, ref_h), img_long) / max(ref_w, ref_h)
    size = (max(8, round(ref_w * scale)), max(8, round(ref_h * scale)))
    ref_rgb, ref_mask = _crop(reference_rgb, reference_alpha, ref_box, size)
    img_rgb, img_mask = _crop(image_rgb, image_mask, _centred(img_box, ref_w / ref_h), size)
    solid_ref, solid_img = ref_mask > 0.5, img_mask > 0.5
    union = solid_ref | solid_img
    iou = float((solid_ref & solid_img).sum() / union.sum()) if union.any() else 0.0
    # The product's own pixels, away from its soft rim (where it blends with any scene) and
    # from a shadow beside it.
    inner = cv2.erode(solid_ref.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    weight = inner.astype(np.float32)
    # Both products on one neutral backdrop: what surrounds them is not what is compared.
    ssim = _ssim(_grey(on_grey(ref_rgb, ref_mask)), _grey(on_grey(img_rgb, img_mask)), weight)
    lab_ref = cv2.cvtColor(ref_rgb, cv2.COLOR_RGB2LAB)
    lab_img = cv2.cvtColor(img_rgb, cv2.COLOR_RGB2LAB)
    inside = inner & solid_img
    delta = np.linalg.norm(lab_ref - lab_img, axis=2)
    delta_e = float(delta[inside].mean()) if inside.any() else 100.0
    return Fidelity(ssim=round(ssim, 3), delta_e=round(delta_e, 2), shape_iou=round(iou, 3))


def _centred(box: tuple[int, int, int, int], aspect: float) -> tuple[int, int, int, int]:
    """The image's product box brought to the reference's aspect. Taller than the product
    should be: a contact shadow or a reflection below it, so the box keeps its top; wider:
    centred across."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    if width / height < aspect:
        return left, top, right, top + max(1, round(width / aspect))
    grow = round(height * aspect) - width
    return left - grow // 2, top, right + grow - grow // 2, bottom


PLAIN_BACKDROP = 0.03  # median distance of the border from the fitted backdrop


def _plain(rgb: Array, fitted: Array) -> bool:
    """Whether the backdrop is a smooth surface (a studio sweep) the fit describes."""
    band = max(4, round(0.02 * min(rgb.shape[:2])))
    edge = np.concatenate([rgb[:band].reshape(-1, 3), rgb[-band:].reshape(-1, 3)])
    fit = np.concatenate([fitted[:band].reshape(-1, 3), fitted[-band:].reshape(-1, 3)])
    return float(np.median(np.abs(edge - fit).max(axis=1))) <= PLAIN_BACKDROP


def of_image(data: bytes, cut: ProductCut, placed: Array | None = None) -> Fidelity | None:
    """The fidelity of an encoded image's product, where ``placed`` (the product's alpha
    where it was put, e.g. a locked scene's) or the image itself says the product is; None
    when it cannot tell without a segmenter (CPU-bound: run it in a thread)."""
    pixels, has_alpha = rgba_of(data)
    rgb = pixels[..., :3]
    if placed is not None:
        return measure(cut.rgb, cut.alpha, rgb, placed)
    if has_alpha:
        return measure(cut.rgb, cut.alpha, rgb, pixels[..., 3])
    fitted = backdrop_model(rgb)
    if not _plain(rgb, fitted):
        return None
    return measure(cut.rgb, cut.alpha, rgb, product_weight(pixels, False, fitted))


class FidelityMeter:
    """Measures every image of a run against its first reference's cut-out (made once, by
    the run's segmenter). A measurement that cannot be made is None, never a failed run."""

    def __init__(self, cutter: ProductCutter | None, references: tuple[ReferenceImage, ...]):
        self._cutter = cutter
        self._reference = references[0] if references else None
        self._cut: asyncio.Task[ProductCut] | None = None
        self._placed: tuple[bytes, Array] | None = None  # a locked canvas, decoded once

    async def reference_cut(self) -> ProductCut | None:
        if self._cutter is None or self._reference is None:
            return None
        if self._cut is None:
            self._cut = asyncio.ensure_future(self._cutter.cut(self._reference))
        with contextlib.suppress(Exception):
            return await asyncio.shield(self._cut)
        return None

    async def _placed_alpha(self, placed: bytes) -> Array:
        if self._placed is None or self._placed[0] is not placed:
            pixels, _ = await asyncio.to_thread(rgba_of, placed)
            self._placed = (placed, pixels[..., 3])
        return self._placed[1]

    async def measure(self, data: bytes, placed: bytes | None = None) -> Fidelity | None:
        """``placed``: a PNG whose alpha is where the product was put (a locked scene)."""
        cut = await self.reference_cut()
        if cut is None:
            return None
        with contextlib.suppress(Exception):
            where = None if placed is None else await self._placed_alpha(placed)
            figure = await asyncio.to_thread(of_image, data, cut, where)
            if figure is not None or self._cutter is None:
                return figure
            # A busy scene: the run's segmenter finds the product in the image itself.
            found = await self._cutter.cut(ReferenceImage("image", data, "image/png", 0, 0))
            return await asyncio.to_thread(measure, cut.rgb, cut.alpha, found.rgb, found.alpha)
        return None
