"""``--lock-product``: the reference's own product, placed once, kept exactly in every image.

The product is cut out of the first reference by the run's segmenter and placed on a canvas
of the output size (centred, its larger side at the profile's fill or 70 % of the frame).
A generator that paints scenes gets that canvas and a mask protecting the product. Whatever
it draws, the product's own pixels are composited back with the cut-out's soft alpha, so
they are exactly the reference's; on an opaque scene a soft contact shadow is drawn under
the product first, so it stands on the scene instead of floating on it. No colour or light
correction is applied to the product: its pixels are the photo's (the documented "small
global correction" is zero; the scene is asked to match the product's light instead).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.types import (
    GeneratedImage,
    ImageSettings,
    LockedScene,
    OutputFormat,
    ReferenceImage,
)
from agentic_image_gen.providers.base import ProductCut, ProductCutter, ScenePainter

Array = NDArray[np.float32]
DEFAULT_FILL = 0.7
AUTO_SIZE = (1024, 1024)
SHADOW_STRENGTH = 0.35  # how much the contact shadow darkens the scene right under the product
# What the prompter and the generator are told: the product is not theirs to change.
LOCK_BRIEF = (
    "the product itself is fixed as photographed (do not redraw or move it); "
    "paint only the scene around it, lit to match the product"
)


def place(cut: ProductCut, size: tuple[int, int], fill: float) -> Array:
    """The product as RGBA floats on a transparent canvas of ``size``, centred, its larger
    side ``fill`` of the frame's."""
    width, height = size
    alpha: Array = np.asarray(cut.alpha, np.float32)
    rgb: Array = np.asarray(cut.rgb, np.float32)
    rows, cols = np.nonzero(alpha > 0.02)
    if rows.size == 0:
        raise InputError("--lock-product: the reference shows no product to keep")
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    product = np.dstack([rgb, alpha])[top:bottom, left:right]
    scale = fill / max((right - left) / width, (bottom - top) / height)
    new_w, new_h = max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = np.clip(cv2.resize(product, (new_w, new_h), interpolation=interpolation), 0, 1)
    canvas = np.zeros((height, width, 4), np.float32)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    canvas[y : y + new_h, x : x + new_w] = resized
    return canvas


def _png(pixels: Array, mode: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode).save(out, "PNG")
    return out.getvalue()


def scene_for(cut: ProductCut, settings: ImageSettings, fill: float | None) -> LockedScene:
    """The canvas and mask a scene painter gets (CPU-bound: run it in a thread)."""
    canvas = place(cut, settings.dimensions or AUTO_SIZE, fill or DEFAULT_FILL)
    solid = (canvas[..., 3] > 0.5).astype(np.float32)
    protected = cv2.dilate(solid, np.ones((5, 5), np.uint8))  # a little room for the edge
    mask = np.dstack([np.zeros_like(canvas[..., :3]), protected])  # opaque: keep
    return LockedScene(canvas=_png(canvas, "RGBA"), mask=_png(mask, "RGBA"))


async def prepare(
    cutter: ProductCutter | None,
    references: tuple[ReferenceImage, ...],
    settings: ImageSettings,
    fill: float | None,
) -> LockedScene:
    if not references:
        raise InputError("--lock-product needs a reference photo of the product (--refs)")
    if cutter is None:
        raise InputError("--lock-product needs a segmenter; none is installed")
    cut = await cutter.cut(references[0])
    return await asyncio.to_thread(scene_for, cut, settings, fill)


def _contact_shadow(product_alpha: Array) -> Array:
    """A soft, flattened shadow under the product's base: 0 (none) to 1 (darkest)."""
    width = product_alpha.shape[1]
    rows = np.nonzero(product_alpha.max(axis=1) > 0.5)[0]
    if rows.size == 0:
        return np.zeros_like(product_alpha)
    base = int(rows.max())
    band = np.zeros_like(product_alpha)
    reach = max(2, (base - int(rows.min())) // 12)
    band[max(0, base - reach) : base + 1] = product_alpha[max(0, base - reach) : base + 1]
    squashed = cv2.GaussianBlur(band, (0, 0), sigmaX=max(2.0, width / 90), sigmaY=reach / 2 + 1)
    peak = float(squashed.max()) or 1.0
    result: Array = np.clip(squashed / peak, 0, 1).astype(np.float32)
    return result


def composite(data: bytes, scene: LockedScene, output_format: OutputFormat) -> bytes:
    """The generated image with the locked product's own pixels back in place (CPU-bound)."""
    opened_canvas = Image.open(io.BytesIO(scene.canvas)).convert("RGBA")
    canvas: Array = np.asarray(opened_canvas, np.float32) / np.float32(255)
    with Image.open(io.BytesIO(data)) as opened:
        generated = opened.convert("RGBA")
        if generated.size != (canvas.shape[1], canvas.shape[0]):
            generated = generated.resize(
                (canvas.shape[1], canvas.shape[0]), Image.Resampling.LANCZOS
            )
    image = np.asarray(generated, np.float32) / 255
    alpha = canvas[..., 3:]
    rgb = image[..., :3]
    opaque_scene = float(image[..., 3].min()) > 0.99
    if opaque_scene:
        shadow = _contact_shadow(canvas[..., 3])[..., None] * SHADOW_STRENGTH
        rgb = rgb * (1 - shadow * (1 - alpha))
    rgb = canvas[..., :3] * alpha + rgb * (1 - alpha)
    scene_alpha = image[..., 3:]
    out_alpha = np.maximum(alpha, scene_alpha)
    pixels = np.dstack([rgb, out_alpha]) if output_format is not OutputFormat.JPEG else rgb
    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    image_out = Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode)
    out = io.BytesIO()
    if output_format is OutputFormat.JPEG:
        image_out.save(out, "JPEG", quality=95)
    elif output_format is OutputFormat.WEBP:
        image_out.save(out, "WEBP", quality=95)
    else:
        image_out.save(out, "PNG")
    return out.getvalue()


class Lock:
    """A run's locked product: the scene prepared once, then composited into every image a
    scene painter makes (a generator that keeps the product by itself is left alone)."""

    def __init__(self, enabled: bool, fill: float | None) -> None:
        self.enabled = enabled
        self.fill = fill
        self.scene: LockedScene | None = None

    async def prepare(
        self,
        cutter: ProductCutter | None,
        references: tuple[ReferenceImage, ...],
        settings: ImageSettings,
    ) -> None:
        if self.enabled and self.scene is None:
            self.scene = await prepare(cutter, references, settings, self.fill)

    def placed(self, generator: object) -> bytes | None:
        """The canvas whose alpha says where the product is in ``generator``'s images: known
        only when the engine composites it there (a generator that frames the product by
        itself puts it where it likes)."""
        return self.scene.canvas if self.scene and isinstance(generator, ScenePainter) else None

    async def apply(self, generator: object, image: GeneratedImage) -> GeneratedImage:
        if self.placed(generator) is None or self.scene is None:
            return image
        data = await asyncio.to_thread(composite, image.data, self.scene, image.output_format)
        return replace(image, data=data, pixels=None)
