"""Contact sheet of --lock-product composites on the development photos (bench, not a test).

Each row: the reference photo, the locked canvas (product in place, on a checkerboard), and
the composite over a painted scene. No image model runs here, so the "scene" is a stand-in a
model might paint (a lit studio sweep with a soft surface texture); what the sheet shows is
our part: the cut, the placement, the contact shadow and the product's exact pixels on top.
Run: python bench/lock_contact_sheet.py [--out docs/lock-contact-sheet.png]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.types import ImageSettings, OutputFormat, ReferenceImage
from agentic_image_gen.engine import lock
from agentic_image_gen.engine.session import Session
from agentic_image_gen.pixels.placement import composite
from agentic_image_gen.providers.base import ProviderContext

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "photos"
CHOSEN = (
    "02_ring_white_ring2.jpg",
    "06_ring_white_ring8.jpg",
    "08_rb_bumble_bee_jasper_sterling.jpg",
    "10_rb_copper_enamel_sterling.jpg",
    "12_rb_sterling_opal_leather.jpg",
    "18_tc_authentic-lapis-pendant-1.webp",
)
THUMB = 220


def painted_scene(size: int, seed: int) -> bytes:
    """A stand-in for a model's scene: a warm-lit sweep, light from the top left, grain."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:size, 0:size] / size
    light = 0.82 + 0.14 * (1 - ys) - 0.06 * xs
    texture = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 18) - 0.5
    base = np.array([0.93, 0.89, 0.84], np.float32)
    rgb = np.clip(light[..., None] * base + 0.06 * texture[..., None], 0, 1)
    out = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8), "RGB").save(out, "PNG")
    return out.getvalue()


def thumb(image: Image.Image) -> Image.Image:
    image = image.copy()
    image.thumbnail((THUMB, THUMB))
    board = Image.new("RGB", (THUMB, THUMB), (255, 255, 255))
    if image.mode == "RGBA":
        checker = Image.new("RGB", image.size, (230, 230, 230))
        draw = ImageDraw.Draw(checker)
        for y in range(0, image.height, 12):
            for x in range(0, image.width, 12):
                if (x // 12 + y // 12) % 2:
                    draw.rectangle((x, y, x + 11, y + 11), fill=(200, 200, 200))
        checker.paste(image, mask=image.getchannel("A"))
        image = checker
    board.paste(image.convert("RGB"), ((THUMB - image.width) // 2, (THUMB - image.height) // 2))
    return board


async def rows(names: tuple[str, ...]) -> list[list[Image.Image]]:
    settings = ImageSettings(background="opaque")  # type: ignore[arg-type]
    made = []
    async with Session() as session, AsyncExitStack() as stack:
        context = ProviderContext(
            RunConfig(prompt="sheet"), stack, shared_resources=session.resources
        )
        cutter = await session.registry.cutter(context, None)
        for number, name in enumerate(names):
            data = (PHOTOS / name).read_bytes()
            reference = ReferenceImage(name, data, "image/jpeg", 0, 0)
            scene = await lock.prepare(cutter, (reference,), settings, 0.7)
            painted = painted_scene(1024, number)
            composed = composite(painted, scene, OutputFormat.PNG)
            made.append(
                [
                    Image.open(io.BytesIO(data)).convert("RGB"),
                    Image.open(io.BytesIO(scene.canvas)),
                    Image.open(io.BytesIO(composed)),
                ]
            )
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("docs/lock-contact-sheet.png"))
    args = parser.parse_args()
    if not PHOTOS.is_dir():
        print(f"no development photos at {PHOTOS}", file=sys.stderr)
        return 1
    found = asyncio.run(rows(CHOSEN))
    sheet = Image.new("RGB", (3 * THUMB + 40, len(found) * (THUMB + 10) + 10), (80, 80, 80))
    for row, images in enumerate(found):
        for column, image in enumerate(images):
            sheet.paste(thumb(image), (10 + column * (THUMB + 10), 10 + row * (THUMB + 10)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(args.out, f"{args.out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
