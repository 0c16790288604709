"""The ``--lock-product`` step: the reference's own product, placed once, kept exactly in
every image a scene painter makes (the pixel work is pixels/placement.py).

The product is cut out of the first reference by the run's segmenter; a generator that
paints scenes gets the canvas and a mask protecting the product, and whatever it draws, the
product's own pixels are composited back.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.types import GeneratedImage, ImageSettings, LockedScene, ReferenceImage
from agentic_image_gen.pixels.placement import composite, scene_for
from agentic_image_gen.providers.base import ProductCutter, ScenePainter

# What the prompter and the generator are told: the product is not theirs to change.
LOCK_BRIEF = (
    "the product itself is fixed as photographed (do not redraw or move it); "
    "paint only the scene around it, lit to match the product"
)


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
    cut = await cutter.cut(references[0], alone=True)
    return await asyncio.to_thread(scene_for, cut.rgb, cut.alpha, settings, fill)


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
