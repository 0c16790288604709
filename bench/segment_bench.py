"""The cut-out on the development photos: shape IoU, coverage, score, first-iteration time.

For each photo in ``../shared/photos`` (never copied into the project): the shape IoU of the
cut-out against the hand-drawn mask where one exists (both masks cropped to their box and
scaled to 256x256, as PROVENANCE.md defines it), the product's share of the photo, and the
technical score, completeness, junk (what the shot keeps that is not the product) and wall
time of the first iteration of a real offline run
(``--background transparent --max-iterations 2`` at 1024x1024, a fresh run each, so the
model load is paid every time; with ``--repeat N`` the fastest of N runs counts, since other
work on a shared machine only ever adds time). Run:
``python bench/segment_bench.py [--segmenter NAME] [--repeat N]``. The photos are reported in
three groups: the odd-numbered development photos (the half rules are tuned on), the
even-numbered ones, and ``photos/more`` (never tuned on; no masks); then the contact sheet
of the same cuts is re-made (``segment_contact_sheet.py``; ``--no-sheet`` skips it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from agentic_image_gen.core.config import ProviderNames, RunConfig
from agentic_image_gen.core.errors import AigError, UnusableReference
from agentic_image_gen.core.events import Event, StageStarted
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import ImageSettings
from agentic_image_gen.engine.session import Session
from agentic_image_gen.providers.local import memo
from agentic_image_gen.providers.local.cutout import Cutout, cut_out
from agentic_image_gen.providers.local.segment import SegmenterPool

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "photos"
PROMPT = "jewelry product photo, soft studio lighting"
THRESHOLD = 85
TARGET_IOU, TARGET_SECONDS = 0.85, 2.0


def shape_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two masks each cropped to its own box and scaled to 256x256."""

    def norm(mask: np.ndarray) -> np.ndarray:
        rows, cols = np.nonzero(mask)
        crop = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        return (
            cv2.resize(crop.astype(np.uint8) * 255, (256, 256), interpolation=cv2.INTER_AREA) > 127
        )

    if not a.any() or not b.any():
        return 0.0
    na, nb = norm(a), norm(b)
    return float((na & nb).sum() / max(1, (na | nb).sum()))


def full_mask(cut: Cutout) -> np.ndarray:
    width, height = cut.source_size
    mask = np.zeros((height, width), bool)
    x, y = cut.origin
    solid = cut.alpha > 0.5
    mask[y : y + solid.shape[0], x : x + solid.shape[1]] = solid
    return mask


async def first_iteration(photo: Path, segmenter: str, out: Path) -> tuple[RunResult, float]:
    config = RunConfig(
        prompt=PROMPT,
        refs=(str(photo),),
        image=ImageSettings(),
        max_iterations=2,
        threshold=100,
        out_dir=out,
        providers=ProviderNames(provider="local"),
        segmenter=segmenter,
    )
    marks: list[float] = []

    def on_event(event: Event) -> None:
        if isinstance(event, StageStarted) and event.stage == "generating":
            marks.append(time.perf_counter())

    memo.KEPT.clear()  # as in a fresh process: no cut kept from the last run
    async with Session() as session:
        result = await session.run(config, on_event)
    marks.append(time.perf_counter())  # a run that stops after one iteration ends here
    return result, marks[1] - marks[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--segmenter", default="auto")
    parser.add_argument("--repeat", type=int, default=1, help="runs per photo; the fastest counts")
    parser.add_argument("--no-sheet", action="store_true", help="do not re-make the contact sheet")
    args = parser.parse_args(argv)
    if not PHOTOS.is_dir():
        print(f"no development photos at {PHOTOS}", file=sys.stderr)
        return 1
    os.environ.pop("OPENAI_API_KEY", None)
    pool = SegmenterPool()
    print(f"segmenter {pool.resolve(args.segmenter)}, {os.cpu_count()} CPU(s)")
    with tempfile.TemporaryDirectory(prefix="aig-segment-bench-") as tmp:
        for group, photos in groups():
            print(f"\n{group}\n")
            print("| photo | shape IoU | coverage | score (1st) | whole | junk | 1st iteration s |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for photo in photos:
                bench_photo(photo, args, Path(tmp), pool)
    if not args.no_sheet:  # the contact sheet of the same cuts (segment_contact_sheet.py)
        from segment_contact_sheet import main as contact_sheet

        print()
        contact_sheet(["--segmenter", args.segmenter])
    return 0


def groups() -> list[tuple[str, list[Path]]]:
    """(title, photos): the tuning half (odd numbers), the other half, and photos/more."""

    def listed(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix in (".jpg", ".jpeg", ".webp"))

    development = listed(PHOTOS)
    odd = [p for p in development if int(p.name[:2]) % 2 == 1]
    even = [p for p in development if int(p.name[:2]) % 2 == 0]
    more = listed(PHOTOS / "more") if (PHOTOS / "more").is_dir() else []
    return [("tuning half (odd)", odd), ("other half (even)", even), ("photos/more", more)]


def bench_photo(photo: Path, args: argparse.Namespace, tmp: Path, pool: SegmenterPool) -> None:
    """One row of the table: the cut-out's IoU and coverage, the first iteration's score,
    completeness, junk and time."""
    mask_path = PHOTOS / "masks" / (photo.stem + ".png")
    try:
        cut = cut_out(photo.read_bytes(), pool.get(args.segmenter))
        mine = full_mask(cut)
        coverage = f"{mine.mean():.3f}"
        iou = "-"
        if mask_path.exists():
            truth = np.asarray(Image.open(mask_path).convert("L")) > 127
            iou = f"{shape_iou(mine, truth):.2f}"
        runs = [
            asyncio.run(first_iteration(photo, args.segmenter, tmp))
            for _ in range(max(1, args.repeat))
        ]
        result, seconds = runs[0][0], min(s for _, s in runs)
        first = result.iterations[0]
        whole = (first.evaluation.details if first.evaluation else {}).get("completeness") or {}
        junk = (first.evaluation.details if first.evaluation else {}).get("junk") or {}
        kept = ", ".join(f"{kind} {junk['shares'][kind]:.2f}" for kind in junk.get("found", []))
        graded = []  # kept backdrop the outline runs through, a kept shadow (graded, junk.py)
        if junk.get("through"):
            graded.append(f"through {junk['through']:.3f}")
        shadow = (junk.get("shares") or {}).get("shadow", 0.0)
        if shadow >= 0.0005 and "shadow" not in junk.get("found", []):
            graded.append(f"shadow {shadow:.3f}")
        if graded:
            kept = ", ".join([kept or "clean", *graded])
        print(
            f"| {photo.name} | {iou} | {coverage} | {first.score} | "
            f"{whole.get('whole', '-')} ({whole.get('missing', 0):.3f}) | "
            f"{kept or ('clean' if junk else '-')} | {seconds:.2f} |"
        )
    except UnusableReference as exc:  # the photo is refused: what its cut kept, or lacks
        print(f"| {photo.name} | refused (exit 3): {str(exc).split(': ', 2)[-1]} | | | | | |")
    except AigError as exc:
        print(f"| {photo.name} | failed: {exc} | | | | | |")


if __name__ == "__main__":
    raise SystemExit(main())
