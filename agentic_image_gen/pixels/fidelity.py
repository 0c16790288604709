"""How faithful an image's product is to the reference's, with no model: the product region
compared with the reference's cut-out after the placement transform.

The product is found in the image (pixels/product.py), the reference cut-out is scaled and
moved onto the product's box (the placement: a uniform scale and a shift, the same transform
a compositor uses), and inside the reference's silhouette:
- ``ssim``: structural similarity of the luminance (1 is identical detail and shading);
- ``delta_e``: mean CIE76 colour difference in Lab (about 2 is a just-noticeable change;
  metal turning from yellow to rose gold is 10 or more), split into
  ``delta_l``: mean ΔL* (signed, positive: lighter; what an exposure move changes) and
  ``delta_ab``: mean Δa*b* with the reference re-exposed to the image's lightness (the
  metal's and stones' own colour: about 2-3 is just noticeable, 5 is a visible change);
- ``shape_iou``: overlap of the two silhouettes (a lost prong, bail or band shows here).
A locked product (its pixels composited back) measures ssim 1.0, delta_e 0; a model that
redrew the ring measures what it changed.
"""

from __future__ import annotations

import cv2
import numpy as np

from agentic_image_gen.core.types import Fidelity
from agentic_image_gen.pixels.alpha import solid
from agentic_image_gen.pixels.arrays import FloatImage, f32, u8
from agentic_image_gen.pixels.backdrop import plain
from agentic_image_gen.pixels.boxes import Box, box
from agentic_image_gen.pixels.decode import decode
from agentic_image_gen.pixels.product import product_weight
from agentic_image_gen.pixels.similarity import colour_parts, delta_e, luminance, ssim

WORK_SIDE = 384  # analysis size of the product's box: enough for prongs, fast enough
NO_PRODUCT = 100.0  # the colour difference reported when the silhouettes share no pixel


def _crop(
    rgb: FloatImage, mask: FloatImage, found: Box, size: tuple[int, int]
) -> tuple[FloatImage, FloatImage]:
    """``found`` scaled onto ``size``; parts of the box outside the frame are empty."""
    left, top, right, bottom = found
    sx, sy = size[0] / (right - left), size[1] / (bottom - top)
    # Pixel centres map to pixel centres: (x + 0.5 - left) * sx = x' + 0.5.
    tx, ty = (0.5 - left) * sx - 0.5, (0.5 - top) * sy - 0.5
    matrix = np.array([[sx, 0, tx], [0, sy, ty]], np.float32)
    flags = cv2.INTER_AREA if max(sx, sy) < 1 else cv2.INTER_LINEAR
    moved_rgb = cv2.warpAffine(rgb, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    moved_mask = cv2.warpAffine(mask, matrix, size, flags=flags, borderValue=0)
    return f32(moved_rgb), f32(moved_mask)


def _grey(rgb: FloatImage, mask: FloatImage) -> FloatImage:
    """The product's luminance on one neutral grey (what surrounds it is not compared), with
    sensor-noise-level grain smoothed (resampling alone changes it)."""
    on_grey = rgb * mask[..., None] + 0.5 * (1 - mask[..., None])
    return f32(cv2.GaussianBlur(luminance(f32(on_grey)), (0, 0), 1.0))


def _centred(found: Box, aspect: float) -> Box:
    """The image's product box brought to the reference's aspect. Taller than the product
    should be: a contact shadow or a reflection below it, so the box keeps its top; wider:
    centred across."""
    left, top, right, bottom = found
    width, height = right - left, bottom - top
    if width / height < aspect:
        return left, top, right, top + max(1, round(width / aspect))
    grow = round(height * aspect) - width
    return left - grow // 2, top, right + grow - grow // 2, bottom


def measure(
    reference_rgb: FloatImage,
    reference_alpha: FloatImage,
    image_rgb: FloatImage,
    image_mask: FloatImage,
) -> Fidelity | None:
    """The fidelity of the product in ``image`` to the reference cut-out; None when either
    shows no product."""
    ref_box, img_box = box(reference_alpha), box(image_mask)
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
    solid_ref, solid_img = solid(ref_mask), solid(img_mask)
    union = solid_ref | solid_img
    iou = float((solid_ref & solid_img).sum() / union.sum()) if union.any() else 0.0
    # The product's own pixels, away from its soft rim (where it blends with any scene) and
    # from a shadow beside it.
    inner = cv2.erode(u8(solid_ref), np.ones((5, 5), np.uint8)) > 0
    similar = ssim(_grey(ref_rgb, ref_mask), _grey(img_rgb, img_mask), f32(inner))
    colour = delta_e(ref_rgb, img_rgb, inner & solid_img)
    lightness, ab = colour_parts(ref_rgb, img_rgb, inner & solid_img) or (0.0, NO_PRODUCT)
    return Fidelity(
        ssim=round(similar, 3),
        delta_e=round(NO_PRODUCT if colour is None else colour, 2),
        delta_l=round(lightness, 2),
        delta_ab=round(ab, 2),
        shape_iou=round(iou, 3),
    )


def of_image(
    data: bytes,
    reference_rgb: FloatImage,
    reference_alpha: FloatImage,
    placed: FloatImage | None = None,
) -> Fidelity | None:
    """The fidelity of an encoded image's product, where ``placed`` (the product's alpha
    where it was put, e.g. a locked scene's) or the image itself says the product is; None
    when it cannot tell without a segmenter (CPU-bound: run it in a thread)."""
    image = decode(data)
    if placed is not None:
        where = placed
    elif image.transparent or plain(image.rgb, image.backdrop):
        where = product_weight(image)
    else:
        return None
    return measure(reference_rgb, reference_alpha, image.rgb, where)


def placed_alpha(canvas: bytes) -> FloatImage:
    """A locked canvas's alpha: where the product was put."""
    return decode(canvas).rgba[..., 3]
