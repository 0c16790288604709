"""Speed at the limit (issue 6): ratios against the critical path, measured in one run.

Starts the fake OpenAI server (in its own process, like a remote API) with injected latency:
generation 400 ms, evaluation 150 ms, refinement 100 ms (checklist 150, conversation 50). Runs
the real loop through the real openai SDK and prints each figure beside its target.
Run: ``python bench/bench_loop.py``.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from remote_fake import RemoteFake

from agentic_image_gen.loop_controller import run_image_generation_loop
from agentic_image_gen.providers.base import ProviderContext, build_providers
from agentic_image_gen.settings import RunConfig
from agentic_image_gen.types import RunResult
from agentic_image_gen.usage import UsageLedger

LATENCY = {
    "generation": 0.40,
    "evaluation": 0.15,
    "refinement": 0.10,
    "checklist": 0.15,
    "comparison": 0.15,
    "conversation": 0.05,
}
PROMPT = "18k yellow gold ring with a Ceylon sapphire, white seamless background"


async def timed_run(
    base_url: str, out: Path, refs: tuple[str, ...], **settings: Any
) -> tuple[float, RunResult]:
    config = RunConfig(
        prompt=PROMPT,
        refs=refs,
        out_dir=out,
        api_key="bench-key",  # type: ignore[arg-type]
        base_url=base_url,
        **settings,
    )
    async with AsyncExitStack() as stack:
        context = ProviderContext(config=config, exit_stack=stack, ledger=UsageLedger())
        providers = await build_providers(context, config.providers)
        started = time.perf_counter()
        result = await run_image_generation_loop(config, providers)
        return time.perf_counter() - started, result


def help_seconds(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "agentic_image_gen", "--help"], check=True, capture_output=True
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def line(name: str, value: str, target: str, ok: bool) -> None:
    print(f"{name:<56} {value:>10}   target {target:<10} {'met' if ok else 'MISSED'}")


TESTS = Path(__file__).resolve().parent.parent / "tests"


async def main() -> None:
    sys.path.insert(0, str(TESTS))
    from images import ring_photo

    work = Path(tempfile.mkdtemp(prefix="aig-bench-"))
    ref = work / "ring.jpg"
    ref.write_bytes(ring_photo(1600, 1200))
    refs = (str(ref),)

    # A warm-up run, so one-time imports inside the SDK don't count as the loop's overhead.
    with RemoteFake([90], latency={}) as fake:
        await timed_run(fake.base_url, work, refs, max_iterations=1)

    # 1. Orchestration overhead of a 5-round run: wall time minus the provider's own time on
    #    the critical path (the checklist is derived beside the first generation).
    with RemoteFake([40, 50, 60, 70, 80], latency=LATENCY) as fake:
        wall, result = await timed_run(fake.base_url, work, refs, max_iterations=5, threshold=99)
    critical = [seen for seen in fake.seen if seen.kind != "checklist"]
    provider = sum(seen.seconds for seen in critical)
    injected = sum(LATENCY.get(seen.kind, 0.0) for seen in critical)
    in_calls = sum(r.seconds for r in result.usage if r.action != "deriving the checklist")
    overhead = wall - provider
    generations = [seen for seen in fake.seen if seen.kind == "generation"]
    later_reference_bytes = sum(sum(seen.image_bytes) for seen in generations[1:])

    # 2. One round of N = 4 candidates over one round of N = 1 (the checklist derivation runs
    #    beside the candidates, hence N + 1 calls in flight).
    rounds: dict[int, float] = {}
    for candidates in (1, 4):
        # Scores apart by more than the tie margin: no pairwise tie-break in this round.
        with RemoteFake([60, 70, 80, 90], latency=LATENCY) as fake_round:
            rounds[candidates], _ = await timed_run(
                fake_round.base_url,
                work,
                refs,
                max_iterations=1,
                threshold=99,
                candidates=candidates,
                max_concurrency=candidates + 1,
            )

    # 3. The evaluator's image payload over the full image, with photo-like images.
    with RemoteFake([95], textured_images=True) as fake_photo:
        _, photo = await timed_run(fake_photo.base_url, work, refs, max_iterations=1)
    full = len(await asyncio.to_thread(Path(photo.iterations[0].image_path).read_bytes))
    (judged,) = [seen for seen in fake_photo.seen if seen.kind == "evaluation"]
    evaluator_bytes = judged.image_bytes[-1]  # the candidate comes after the references

    help_time = help_seconds()

    print(f"agentic-image-gen benchmark; fake API latency in seconds: {LATENCY}\n")
    ratio = overhead / provider
    line(
        "orchestration overhead, 5 rounds / critical path",
        f"{100 * ratio:.1f} %",
        "<= 2 %",
        ratio <= 0.02,
    )
    print(
        f"    wall {wall:.3f} s; provider time on the critical path {provider:.3f} s "
        f"({injected:.2f} s injected); inside SDK calls {in_calls:.3f} s; "
        f"overhead {overhead * 1000:.0f} ms ({overhead / 5 * 1000:.0f} ms a round)"
    )
    ratio = rounds[4] / rounds[1]
    line("round of N = 4 candidates / round of N = 1", f"{ratio:.3f} x", "<= 1.15 x", ratio <= 1.15)
    print(f"    N = 1: {rounds[1]:.3f} s, N = 4: {rounds[4]:.3f} s")
    line(
        "reference bytes sent after turn 1",
        f"{later_reference_bytes} B",
        "0 B",
        later_reference_bytes == 0,
    )
    print(
        f"    generation request bodies: turn 1 {generations[0].body_bytes:,} B, later turns "
        f"{statistics.mean(g.body_bytes for g in generations[1:]):,.0f} B on average"
    )
    ratio = evaluator_bytes / full
    line("evaluator image payload / full image", f"{100 * ratio:.1f} %", "<= 25 %", ratio <= 0.25)
    print(f"    full PNG {full:,} B, evaluator JPEG {evaluator_bytes:,} B")
    line(
        "cold `--help` (median of 5 processes)", f"{help_time:.3f} s", "<= 0.3 s", help_time <= 0.3
    )


if __name__ == "__main__":
    asyncio.run(main())
