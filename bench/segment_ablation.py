"""Each refinement step switched off in turn: what it changes, on which half, and for better
or worse (the issue's rule: a step that helps only the photo it was written for, or only the
tuning half, goes).

For every photo of ``../shared/photos`` (odd half, even half) and ``photos/more``, U²-Netp's
map is made once and the cut-out refined with every step, then without each step named by
``--without`` (all of ``STEPS`` by default). Reported per photo and step: the shape IoU
against the hand-drawn mask where one exists, the share of the product the cut itself misses
against the evaluator's independent look (completeness.distinct), the junk it keeps
(junk.py, the cut's own alpha laid on the photo), and how much the cut changes (alpha IoU
against the full refinement's). Only steps still in the code can be named. Run:
``python bench/segment_ablation.py [--without STEP ...] [--photos GLOB] [--save DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agentic_image_gen.pixels.alpha import solid
from agentic_image_gen.pixels.arrays import FloatImage
from agentic_image_gen.pixels.decode import decode
from agentic_image_gen.providers.local import cutout as cutout_module
from agentic_image_gen.providers.local.completeness import completeness
from agentic_image_gen.providers.local.cutout import Cutout, cut_out
from agentic_image_gen.providers.local.junk import shot_junk, small_reference
from agentic_image_gen.providers.local.segment import SegmenterPool
from agentic_image_gen.providers.local.segment import refine as refine_module
from agentic_image_gen.providers.local.segment import strands as strands_module

sys.path.insert(0, str(Path(__file__).resolve().parent))
from segment_bench import full_mask, groups, shape_iou


def _identity(hard: Any, *_: Any) -> Any:
    return hard


# step name -> (module, attribute, replacement that switches it off)
STEPS: dict[str, tuple[Any, str, Callable[..., Any]]] = {
    name: (module, attribute, off)
    for name, module, attribute, off in (
        ("spill", refine_module, "drop_spill", _identity),
        ("trim", refine_module, "trim_edge", _identity),
        ("strands", refine_module, "add_thin_parts", _identity),
    )
    if hasattr(module, attribute)
}
for _name, _attribute in (("floor", "open_floor"), ("weave", "open_weave")):
    if hasattr(refine_module, _attribute):
        STEPS[_name] = (refine_module, _attribute, _identity)
if hasattr(cutout_module, "without_marks"):  # corner marks painted out before segmenting
    STEPS["marks"] = (cutout_module, "without_marks", _identity)
if hasattr(refine_module, "reflection"):
    STEPS["reflection"] = (refine_module, "reflection", lambda mask, _offset: np.zeros_like(mask))
if hasattr(strands_module, "along_grain"):
    STEPS["grain"] = (strands_module, "along_grain", lambda pieces, _grain: np.zeros_like(pieces))


@contextmanager
def switched_off(step: str | None) -> Iterator[None]:
    """The refinement with ``step`` replaced by its no-op (None: every step on)."""
    if step is None:
        yield
        return
    module, attribute, off = STEPS[step]
    saved = getattr(module, attribute)
    setattr(module, attribute, off)
    try:
        yield
    finally:
        setattr(module, attribute, saved)


class Cached:
    """U²-Netp's map of one photo, made once and handed out for every variant."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.maps = inner, {}
        self.name, self.coarse = inner.name, inner.coarse

    def segment(self, rgb: FloatImage) -> FloatImage:
        key = (rgb.shape, float(rgb[::7, ::7].sum()))
        if key not in self.maps:
            self.maps[key] = self.inner.segment(rgb)
        return self.maps[key]  # type: ignore[no-any-return]


def judge(cut: Cutout, rgb: FloatImage, seen: np.ndarray, photo_small: FloatImage) -> str:
    """The cut's own missing share and junk, as the evaluator would judge a perfect shot."""
    mask = solid(cut.alpha)
    whole = completeness(mask, cut, seen)
    mess = shot_junk(mask, cut, photo_small)
    missing = f"{whole.missing:.3f}" if whole else "-"
    if whole and not whole.whole:
        missing += "!"
    kept = ",".join(f"{k} {mess.shares[k]:.2f}" for k in mess.found) if mess else ""
    return f"{missing} {kept or 'clean'}"


def alpha_iou(a: Cutout, b: Cutout) -> float:
    ma, mb = full_mask(a), full_mask(b)
    return float((ma & mb).sum() / max(1, (ma | mb).sum()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--without", nargs="*", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--photos", default="*", help="glob on the photo's name")
    parser.add_argument("--save", type=Path, help="folder for the full refinement's cut-outs")
    args = parser.parse_args(argv)
    segmenter = Cached(SegmenterPool().get("u2netp"))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    masks = groups()[0][1][0].parent / "masks"
    print("cells: shape IoU (rings) | missing share (! = not whole) | junk | alpha IoU vs all on")
    for group, photos in groups():
        print(f"\n{group}\n")
        print("| photo | all on | " + " | ".join(f"no {s}" for s in args.without) + " |")
        print("| --- " * (2 + len(args.without)) + "|")
        for photo in photos:
            if not photo.match(args.photos):
                continue
            data = photo.read_bytes()
            rgb = decode(data).rgb
            small = small_reference(rgb)
            seen = small.seen  # what clearly differs from the backdrop, at the judging size
            truth_path = masks / (photo.stem + ".png")
            truth = (
                np.asarray(Image.open(truth_path).convert("L")) > 127
                if truth_path.exists()
                else None
            )
            cells, base = [], None
            for step in [None, *args.without]:
                try:
                    with switched_off(step):
                        cut = cut_out(data, segmenter)  # type: ignore[arg-type]
                except Exception as exc:
                    cells.append(f"failed ({type(exc).__name__})")
                    continue
                iou = f"{shape_iou(full_mask(cut), truth):.2f} " if truth is not None else ""
                cell = iou + judge(cut, rgb, seen, small)
                if base is None:
                    base = cut
                    if args.save:
                        save(cut, args.save / (photo.stem + ".png"))
                else:
                    change = alpha_iou(base, cut)
                    cell = "same" if change >= 0.999 else f"{cell} ({change:.3f})"
                cells.append(cell)
            print(f"| {photo.stem[:28]} | " + " | ".join(cells) + " |", flush=True)
    return 0


def save(cut: Cutout, path: Path) -> None:
    """The cut-out on mid grey, full size, to look at."""
    grey = np.full_like(cut.rgb, 0.5)
    shown = cut.rgb * cut.alpha[..., None] + grey * (1 - cut.alpha[..., None])
    Image.fromarray((np.clip(shown, 0, 1) * 255).astype(np.uint8)).save(path)


if __name__ == "__main__":
    raise SystemExit(main())
