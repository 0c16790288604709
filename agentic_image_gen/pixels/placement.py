"""``--lock-product``'s pixels: the reference's own product placed once on a canvas of the
output size (centred, its larger side at the profile's fill or 70 % of the frame), the mask
that protects it, and every generated image with the product's own pixels composited back
with the cut-out's soft alpha (over a soft contact shadow on an opaque scene, so it stands
on the scene instead of floating on it). No colour or light correction touches the product.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.types import ImageSettings, LockedScene, OutputFormat
from agentic_image_gen.pixels.alpha import CLEAR, OPAQUE, SOLID
from agentic_image_gen.pixels.arrays import FloatImage, f32
from agentic_image_gen.pixels.boxes import box
from agentic_image_gen.pixels.encode import encode

AUTO_SIZE = (1024, 1024)  # the frame a generator that must choose a size makes for "auto"
DEFAULT_FILL = 0.7
SHADOW_STRENGTH = 0.35  # how much the contact shadow darkens the scene right under the product


def frame_size(settings: ImageSettings) -> tuple[int, int]:
    """(width, height) of an image made for ``settings``."""
    return settings.dimensions or AUTO_SIZE


def place(rgb: FloatImage, alpha: FloatImage, size: tuple[int, int], fill: float) -> FloatImage:
    """The product as RGBA floats on a transparent canvas of ``size``, centred, its larger
    side ``fill`` of the frame's."""
    width, height = size
    found = box(alpha, CLEAR)
    if found is None:
        raise InputError("--lock-product: the reference shows no product to keep")
    left, top, right, bottom = found
    product = np.dstack([rgb, alpha])[top:bottom, left:right]
    scale = fill / max((right - left) / width, (bottom - top) / height)
    new_w, new_h = max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = np.clip(cv2.resize(product, (new_w, new_h), interpolation=interpolation), 0, 1)
    canvas = np.zeros((height, width, 4), np.float32)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    canvas[y : y + new_h, x : x + new_w] = resized
    return canvas


def scene_for(
    rgb: FloatImage, alpha: FloatImage, settings: ImageSettings, fill: float | None
) -> LockedScene:
    """The canvas and mask a scene painter gets (CPU-bound: run it in a thread)."""
    canvas = place(rgb, alpha, frame_size(settings), fill or DEFAULT_FILL)
    body = f32(canvas[..., 3] > SOLID)
    protected = f32(cv2.dilate(body, np.ones((5, 5), np.uint8)))  # a little room for the edge
    mask = np.dstack([np.zeros_like(canvas[..., :3]), protected])  # opaque: keep
    return LockedScene(canvas=encode(canvas, "png"), mask=encode(mask, "png"))


def contact_shadow(product_alpha: FloatImage) -> FloatImage:
    """A soft, flattened shadow under the product's base: 0 (none) to 1 (darkest)."""
    width = product_alpha.shape[1]
    found = box(product_alpha)
    if found is None:
        return np.zeros_like(product_alpha)
    top, base = found[1], found[3] - 1
    band = np.zeros_like(product_alpha)
    reach = max(2, (base - top) // 12)
    band[max(0, base - reach) : base + 1] = product_alpha[max(0, base - reach) : base + 1]
    squashed = cv2.GaussianBlur(band, (0, 0), sigmaX=max(2.0, width / 90), sigmaY=reach / 2 + 1)
    peak = float(squashed.max()) or 1.0
    return f32(np.clip(squashed / peak, 0, 1))


def _rgba(data: bytes, size: tuple[int, int] | None = None) -> FloatImage:
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA")
        if size is not None and image.size != size:
            image = image.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(image, np.float32) / np.float32(255)


def composite(data: bytes, scene: LockedScene, output_format: OutputFormat) -> bytes:
    """The generated image with the locked product's own pixels back in place (CPU-bound)."""
    canvas = _rgba(scene.canvas)
    image = _rgba(data, (canvas.shape[1], canvas.shape[0]))
    alpha = canvas[..., 3:]
    rgb = image[..., :3]
    if float(image[..., 3].min()) >= OPAQUE:  # an opaque scene: the product stands on it
        shadow = contact_shadow(canvas[..., 3])[..., None] * SHADOW_STRENGTH
        rgb = rgb * (1 - shadow * (1 - alpha))
    rgb = canvas[..., :3] * alpha + rgb * (1 - alpha)
    out_alpha = np.maximum(alpha, image[..., 3:])
    pixels = rgb if output_format is OutputFormat.JPEG else np.dstack([rgb, out_alpha])
    return encode(pixels, output_format, quick=True)
