"""Contact sheet of the cut-out on the development photos (a bench script, not a test).

One row per photo of the three groups ``bench/segment_bench.py`` reports (the odd-numbered
photos of ``../shared/photos``, the even-numbered ones, ``photos/more``): the input, the
cut-out on a checkerboard, and the studio's first shot (transparent, 1024x1024, on a
checkerboard), as small thumbnails so the photographers' pictures appear only at reduced
size. A photo the studio refuses (its cut does not hold the product alone, junk.py) says so
in red, with what the cut kept. Run:
``python bench/segment_contact_sheet.py [--segmenter NAME] [--out PNG]``
(default ``docs/segmentation-contact-sheet.png``); ``segment_bench.py`` re-makes it too.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from agentic_image_gen.core.errors import AigError
from agentic_image_gen.core.types import ImageSettings
from agentic_image_gen.pixels.decode import decode
from agentic_image_gen.providers.local.cutout import cut_out
from agentic_image_gen.providers.local.junk import cut_junk, refusal_line, small_reference
from agentic_image_gen.providers.local.segment import SegmenterPool
from agentic_image_gen.providers.local.studio import render
from agentic_image_gen.providers.local.vocabulary import StudioSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from segment_bench import PHOTOS, groups  # the bench's groups: one home

ROOT = Path(__file__).resolve().parent.parent
THUMB = 180
LABEL = 14
COLUMNS = 3  # rows of three tiles side by side keep the sheet roughly square


def checker(size: tuple[int, int], cell: int = 8) -> Image.Image:
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    board = np.where(((xs // cell) + (ys // cell)) % 2 == 0, 230, 190).astype(np.uint8)
    return Image.fromarray(board, "L").convert("RGBA")


def on_checker(image: Image.Image) -> Image.Image:
    image = image.convert("RGBA")
    image.thumbnail((THUMB, THUMB))
    tile = checker((THUMB, THUMB))
    tile.alpha_composite(image, ((THUMB - image.width) // 2, (THUMB - image.height) // 2))
    return tile.convert("RGB")


def row(path: Path, group: str, pool: SegmenterPool, name: str) -> Image.Image:
    data = path.read_bytes()
    tiles = [on_checker(ImageOps.exif_transpose(Image.open(path)))]  # as the cut sees it
    label, colour = f"{group}: {path.name}", "black"
    try:
        cut = cut_out(data, pool.get(name))
        rgba = np.dstack([cut.rgb, cut.alpha]) * 255
        tiles.append(on_checker(Image.fromarray(rgba.astype(np.uint8), "RGBA")))
        shot, _, _ = render(cut, StudioSettings(), ImageSettings())
        tiles.append(on_checker(Image.open(io.BytesIO(shot))))
        label += f"  ({cut.segmenter})"
        kept = cut_junk(cut, small_reference(decode(data).rgb))
        if not kept.clean:
            label = f"{path.name}: REFUSED, {refusal_line(kept).split(': ', 1)[1]}"
            colour = "firebrick"
    except AigError as exc:
        label, colour = f"{path.name}: FAILED, {exc}", "firebrick"
    strip = Image.new("RGB", (3 * THUMB + 4, THUMB + LABEL), "white")
    for i, tile in enumerate(tiles):
        strip.paste(tile, (i * (THUMB + 2), LABEL))
    ImageDraw.Draw(strip).text((2, 1), label[:95], fill=colour)
    return strip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--segmenter", default="auto")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "segmentation-contact-sheet.png"
    )
    args = parser.parse_args(argv)
    if not PHOTOS.is_dir():
        print(f"no development photos at {PHOTOS}", file=sys.stderr)
        return 1
    pool = SegmenterPool()
    named = zip(("odd", "even", "more"), (photos for _, photos in groups()), strict=True)
    rows = [row(photo, group, pool, args.segmenter) for group, photos in named for photo in photos]
    tall = (len(rows) + COLUMNS - 1) // COLUMNS
    width, height = rows[0].width, rows[0].height
    sheet = Image.new("RGB", (COLUMNS * (width + 8), tall * height), "white")
    for i, strip in enumerate(rows):
        sheet.paste(strip, ((i // tall) * (width + 8), (i % tall) * height))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"{args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
