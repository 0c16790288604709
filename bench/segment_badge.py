"""A shop's badge in a corner: does it move the cut? (issue #26's bar: alpha IoU >= 0.95)

For every photo of ``../shared/photos`` (odd half, even half) and ``photos/more``, the photo
is cut out plain and then with a red square badge (``BADGE`` of its short side, set in by
``MARGIN`` from both edges, as a shop's logo or price badge is) in each of its four corners;
reported per photo: the alpha IoU (alpha > 0.5) of each badged cut against the plain one,
and the worst corner. Run:
``python bench/segment_badge.py [--segmenter NAME] [--photos GLOB] [--save DIR]``
(``--save`` writes the plain cut and the worst corner's as PNGs, to look at).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from agentic_image_gen.core.errors import AigError
from agentic_image_gen.providers.local.cutout import Cutout, cut_out
from agentic_image_gen.providers.local.segment import SegmenterPool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from segment_bench import full_mask, groups

BADGE = 0.06  # of the photo's short side: the red square
MARGIN = 0.02  # of the short side, from both edges: set in, as a shop's logo is
RED = (220, 20, 30)
CORNERS = ("tl", "tr", "bl", "br")
UNCHANGED = 0.95  # the bar


def with_badge(photo: Path, corner: str) -> bytes:
    """``photo`` as PNG bytes with the red badge in ``corner`` (t/b then l/r), and the
    photo's colour profile (without it, a photo in another colour space would change all
    over, not only in its corner)."""
    image = Image.open(photo)
    pixels = np.asarray(ImageOps.exif_transpose(image).convert("RGB")).copy()
    height, width = pixels.shape[:2]
    side, margin = round(BADGE * min(height, width)), round(MARGIN * min(height, width))
    top = margin if corner[0] == "t" else height - margin - side
    left = margin if corner[1] == "l" else width - margin - side
    pixels[top : top + side, left : left + side] = RED
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", icc_profile=image.info.get("icc_profile"))
    return buffer.getvalue()


def alpha_iou(a: Cutout, b: Cutout) -> float:
    """IoU of the two cuts' solid parts (alpha > 0.5), laid on the photo."""
    ma, mb = full_mask(a), full_mask(b)
    return float((ma & mb).sum() / max(1, (ma | mb).sum()))


def save(cut: Cutout, path: Path) -> None:
    rgba = np.dstack([cut.rgb, cut.alpha])
    Image.fromarray((np.clip(rgba, 0, 1) * 255).astype(np.uint8), "RGBA").save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--segmenter", default="auto")
    parser.add_argument("--photos", default="*", help="only photos whose name matches")
    parser.add_argument("--save", type=Path, help="folder for the plain and worst cuts")
    args = parser.parse_args(argv)
    pool = SegmenterPool()
    segmenter = pool.get(args.segmenter)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    passed = total = 0
    for group, photos in groups():
        photos = [p for p in photos if p.match(args.photos)]
        if not photos:
            continue
        print(f"\n{group}\n")
        print("| photo | " + " | ".join(CORNERS) + " | worst |")
        print("| --- |" + " --- |" * (len(CORNERS) + 1))
        for photo in photos:
            try:
                plain = cut_out(photo.read_bytes(), segmenter)
                badged = {c: cut_out(with_badge(photo, c), segmenter) for c in CORNERS}
            except AigError as exc:
                print(f"| {photo.name} | failed: {exc} |")
                continue
            ious = {c: alpha_iou(plain, cut) for c, cut in badged.items()}
            worst = min(ious, key=ious.__getitem__)
            total += 1
            passed += ious[worst] >= UNCHANGED
            print(
                f"| {photo.name} | "
                + " | ".join(f"{ious[c]:.2f}" for c in CORNERS)
                + f" | {ious[worst]:.2f} ({worst}) |"
            )
            if args.save:
                save(plain, args.save / f"{photo.stem}.png")
                save(badged[worst], args.save / f"{photo.stem}.{worst}.png")
    print(f"\nworst corner at alpha IoU >= {UNCHANGED}: {passed} of {total} photos")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
