"""Offline default (issue 3): seconds per iteration at 1024x1024 and the score trajectory.

Runs the real loop with the local providers built from the registry (studio, technical,
rules) on examples/ring.jpg, with no key and no network, once per backdrop, four iterations
each (threshold 100, so no run stops early). An iteration is generate + save + evaluate +
refine; the first also pays for the cut-out (GrabCut), which later turns reuse, so it is
reported apart. Each figure is printed beside the 1.5 s target.
Run: ``python bench/offline_bench.py`` (``--repeat N`` for more runs per backdrop).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from agentic_image_gen.core.config import ProviderNames, RunConfig
from agentic_image_gen.core.events import Event, StageStarted
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import ImageSettings
from agentic_image_gen.engine.session import Session
from agentic_image_gen.providers.local import memo

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ring.jpg"
TARGET_SECONDS = 1.5
BASE = "18k yellow gold ring with a Ceylon sapphire, soft studio light"
RUNS = {  # name: (--background, phrase for the backdrop)
    "transparent": ("transparent", ""),
    "white seamless": ("opaque", ", white seamless background"),
    "neutral gradient": ("opaque", ", neutral gradient"),
    "dark reflective": ("opaque", ", dark reflective surface"),
}


async def run_once(background: str, prompt: str, out: Path) -> tuple[RunResult, list[float]]:
    """One run; returns the result and the wall-clock seconds of each iteration."""
    config = RunConfig(
        prompt=prompt,
        refs=(str(SAMPLE),),
        image=ImageSettings.model_validate({"background": background}),
        max_iterations=4,
        threshold=100,
        out_dir=out,
        providers=ProviderNames(provider="local"),
    )
    marks: list[float] = []

    def on_event(event: Event) -> None:
        if isinstance(event, StageStarted) and event.stage == "generating":
            marks.append(time.perf_counter())

    memo.KEPT.clear()  # as in a fresh process: no cut kept from the last run
    async with Session() as session:
        result = await session.run(config, on_event)
    marks.append(time.perf_counter())
    # The last iteration has no refinement after it; the others include theirs.
    return result, [later - earlier for earlier, later in itertools.pairwise(marks)]


def verdict(seconds: float) -> str:
    return "meets" if seconds <= TARGET_SECONDS else "MISSES"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=1, help="runs per backdrop (default 1)")
    args = parser.parse_args(argv)
    os.environ.pop("OPENAI_API_KEY", None)
    print(f"offline loop on {SAMPLE.name}, 1024x1024 PNG, {os.cpu_count()} CPU(s)")
    firsts: list[float] = []
    laters: list[float] = []
    with tempfile.TemporaryDirectory(prefix="aig-offline-bench-") as tmp:
        for name, (background, phrase) in RUNS.items():
            for _ in range(args.repeat):
                result, seconds = asyncio.run(run_once(background, BASE + phrase, Path(tmp)))
                firsts.append(seconds[0])
                laters.extend(seconds[1:])
                scores = " -> ".join(str(it.score) for it in result.iterations)
                timing = ", ".join(f"{s:.2f}" for s in seconds)
                print(f"  {name:17s} scores {scores:22s} seconds/iteration {timing}")
    every = firsts + laters
    print(
        f"first iteration (with the cut-out): median {statistics.median(firsts):.2f} s, "
        f"max {max(firsts):.2f} s   target <= {TARGET_SECONDS} s: {verdict(max(firsts))}"
    )
    print(
        f"later iterations:                   median {statistics.median(laters):.2f} s, "
        f"max {max(laters):.2f} s   target <= {TARGET_SECONDS} s: {verdict(max(laters))}"
    )
    print(
        f"all iterations:                     mean {statistics.mean(every):.2f} s   "
        f"target <= {TARGET_SECONDS} s: {verdict(statistics.mean(every))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
