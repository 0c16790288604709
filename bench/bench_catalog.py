"""A whole catalog under one rate limit (issue 24), measured in one run.

Starts the fake OpenAI server in its own process (like a remote API) with injected latency:
generation 400 ms, evaluation 150 ms, refinement 100 ms (checklist 150, conversation 50), and
runs ``agentic-image-gen batch`` on a catalog of 200 products as a subprocess, under
``--rate openai=1200/min`` (one round each: about five requests a product, a minute of work).
It prints, each beside its target:

* the request rate the API saw over the limit (>= 0.90): request starts, first to last; and
  the busiest second the API saw (the limiter spaces calls evenly; a call's own preparation
  and a busy CPU move its arrival, so a second can see a few more);
* the batch process's memory growth from product 50 to product 200 (< 50 MB): its anonymous
  resident size (its heap) read from /proc while it runs, the floor over products 50-59
  against the floor over the last ten (in between, products in flight come and go);
* seconds of overhead per product: the batch process's CPU time per product, and its wall
  time beyond what the rate limit itself takes (requests / rate), per product.

Run: ``python bench/bench_catalog.py`` (``--products``, ``--rate``, ``--concurrency``).
"""

from __future__ import annotations

import argparse
import bisect
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from remote_fake import RemoteFake

ROOT = Path(__file__).resolve().parent.parent
LATENCY = {
    "generation": 0.40,
    "evaluation": 0.15,
    "refinement": 0.10,
    "checklist": 0.15,
    "comparison": 0.15,
    "conversation": 0.05,
}
ENGINES = ("local", "ray")  # "both": one after the other, in the same run of the bench


def _done(state: Path) -> int:
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
            row = db.execute("SELECT count(*) FROM products WHERE status = 'done'").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


def _rss_mb(pid: int) -> float | None:
    """The process's anonymous resident memory (its heap: what it allocated and kept; file
    pages such as shared libraries come and go with the kernel's reclaim)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(
    products: int, rate: float, concurrency: int, engine: str, photo: str
) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests"))
    from images import ring_photo

    work = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    # One drawn 640x480 photo for every product. Each run cuts its product out of it once
    # (for the fidelity figure): a JPEG photo is cut by the classical segmenter (about 0.4 s
    # of CPU), a cut-out PNG by its own alpha channel (next to nothing).
    name = "ring.png" if photo == "png" else "ring.jpg"
    (work / name).write_bytes(ring_photo(fmt="PNG", alpha=True) if photo == "png" else ring_photo())
    rows = "".join(f"P{n:04d},Gold ring {n},{name}\n" for n in range(products))
    (work / "catalog.csv").write_text("sku,title,image\n" + rows)
    out = work / "out"
    command = [
        sys.executable, "-m", "agentic_image_gen", "batch", str(work / "catalog.csv"),
        "--out", str(out), "--provider", "openai", "--quality", "low", "--max-iterations", "1",
        "--segmenter", "classical",
        "--rate", f"openai={rate:g}/min", "--concurrency", str(concurrency), "--quiet",
        "--engine", engine,
    ]
    samples: list[tuple[int, float]] = []  # (products done, resident MB)
    with RemoteFake(scores=[60], latency=LATENCY) as fake:
        env = {**os.environ, "OPENAI_API_KEY": "bench-key-0000000000",
               "OPENAI_BASE_URL": fake.base_url}
        began = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        while process.poll() is None:
            rss = _rss_mb(process.pid)
            if rss is not None:
                samples.append((_done(out / "catalog.sqlite"), rss))
            time.sleep(0.05)
        wall = time.perf_counter() - began
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"the batch ended with exit code {process.returncode}")
    starts = sorted(seen.ended - seen.seconds for seen in fake.seen)
    span = starts[-1] - starts[0]
    achieved = (len(starts) - 1) / span * 60
    busiest = max(bisect.bisect_left(starts, t + 1.0) - i for i, t in enumerate(starts))
    busiest_10 = max(bisect.bisect_left(starts, t + 10.0) - i for i, t in enumerate(starts))
    # Products in flight hold images and arrays for a moment: the resident size at one
    # instant swings by their worth (and freed memory is not always given back at once), so
    # each end is the floor over ten products' time: what stays when least is in flight.
    start = min(50, products - 10)
    at_50 = min(rss for done, rss in samples if start <= done < start + 10)
    at_end = min(rss for done, rss in samples if done >= products - 10)
    last_done = products
    return {
        "products": products,
        "requests": len(starts),
        "wall": wall,
        "achieved": achieved,
        "ratio": achieved / rate,
        "busiest": busiest,
        "busiest_10": busiest_10,
        "limit_per_second": rate / 60,
        "rss_50": at_50,
        "rss_end": at_end,
        "end_done": last_done,
        "cpu_per_product": (usage.ru_utime + usage.ru_stime) / products,
        "beyond_rate_per_product": (wall - len(starts) / (rate / 60)) / products,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1200, help="requests per minute")
    parser.add_argument("--concurrency", type=int, default=16, help="products at once")
    parser.add_argument("--engine", choices=[*ENGINES, "both"], default="local",
                        help="ray: a local Ray cluster started by the batch (target >= 0.85)")
    parser.add_argument("--photo", choices=["png", "jpeg"], default="png",
                        help="the products' photo: a cut-out PNG (default) or a JPEG to cut")
    args = parser.parse_args()
    for engine in ENGINES if args.engine == "both" else (args.engine,):
        report(args, engine, run(args.products, args.rate, args.concurrency, engine, args.photo))


def report(args: argparse.Namespace, engine: str, figures: dict[str, float]) -> None:
    growth = figures["rss_end"] - figures["rss_50"]
    target = 0.85 if engine == "ray" else 0.90
    print(f"engine {engine}, {args.photo} photos: {figures['products']:.0f} products, "
          f"{figures['requests']:.0f} requests in {figures['wall']:.1f} s "
          f"(concurrency {args.concurrency}, limit {args.rate:g}/min)")
    print(f"request rate over the limit: {figures['ratio']:.3f} "
          f"({figures['achieved']:.0f}/min of {args.rate:g}/min; target >= {target:.2f})")
    print(f"busiest second the API saw: {figures['busiest']:.0f} requests, busiest ten "
          f"seconds {figures['busiest_10']:.0f} (the limit: {figures['limit_per_second']:g} "
          f"and {figures['limit_per_second'] * 10:g})")
    print(f"memory growth from product 50 to {figures['end_done']:.0f}: {growth:+.1f} MB "
          f"(anonymous resident {figures['rss_50']:.0f} -> {figures['rss_end']:.0f} MB, "
          "floors over products 50-59 and the last ten; target < 50 MB)")
    print(f"overhead per product: {figures['cpu_per_product']:.3f} s CPU in the batch process; "
          f"{figures['beyond_rate_per_product']:.3f} s of wall time beyond the rate's own pace")


if __name__ == "__main__":
    main()
