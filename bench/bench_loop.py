"""Speed at the limit (issue 6): ratios against the critical path, measured in one run.

Starts the fake OpenAI server (in its own process, like a remote API) with injected latency:
generation 400 ms, evaluation 150 ms, refinement 100 ms (checklist 150, conversation 50). Runs
the real loop through the real openai SDK and prints each figure beside its target.
Run: ``python bench/bench_loop.py``.

The overhead of a run is split in three, so each figure says whose it is: the API's own time
(the fake's, from request line to reply sent), the client's work inside the provider calls
(the SDK and HTTP, checking each image, the evaluator's JPEG copy: the price of the calls
themselves), and the loop's orchestration around them (references, the run folder, the
journal, scheduling). The target applies to the orchestration; the other two are printed
beside it, with the end-to-end figure, so nothing is hidden.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from remote_fake import RemoteFake

from agentic_image_gen.core.config import ProviderNames, RunConfig
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.engine.session import Session
from agentic_image_gen.providers.base import Component, ProviderContext
from agentic_image_gen.providers.registry import Registry

LATENCY = {
    "generation": 0.40,
    "evaluation": 0.15,
    "refinement": 0.10,
    "checklist": 0.15,
    "comparison": 0.15,
    "conversation": 0.05,
}
# One generation, evaluation and refinement a round (and a tie-break when there is one); the
# references' one upload comes before the first generation, which names the files.
CRITICAL = ("generation", "evaluation", "refinement", "comparison", "file_upload")
CLEANUP = ("file_deleted",)  # after the run: the uploads deleted
PROMPT = "18k yellow gold ring with a Ceylon sapphire, white seamless background"


class Timed:
    """A provider seen through a stopwatch: the loop gets the same object (every attribute,
    so its optional roles too), and each role method's seconds are summed by name."""

    METHODS = ("generate_image", "evaluate_image", "generate_prompt")

    def __init__(self, provider: object, seconds: dict[str, float]) -> None:
        self._provider, self._seconds = provider, seconds

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._provider, name)
        return stopwatch(attribute, self._seconds, name) if name in self.METHODS else attribute


def stopwatch(call: Any, seconds: dict[str, float], name: str) -> Any:
    """``call`` (a coroutine function) with its seconds added to ``seconds[name]``."""

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await call(*args, **kwargs)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    return timed


async def timed_run(
    base_url: str,
    out: Path,
    refs: tuple[str, ...],
    in_providers: dict[str, float] | None = None,
    **settings: Any,
) -> tuple[float, RunResult]:
    """Wall seconds of one run; ``in_providers`` gets the seconds spent in each role method."""
    config = RunConfig(
        prompt=PROMPT,
        refs=refs,
        out_dir=out,
        providers=ProviderNames(provider="openai"),
        **settings,
    )
    seconds = {} if in_providers is None else in_providers
    env = {"OPENAI_API_KEY": "bench-key", "OPENAI_BASE_URL": base_url}
    async with Session(registry=timed_registry(seconds), env=env) as session:
        started = time.perf_counter()
        result = await session.run(config)
        return time.perf_counter() - started, result


class TimedStack:
    """A run's exit stack as its providers see it: the clean-ups they push (deleting the run's
    uploads: API calls) count as the providers' time, not the loop's."""

    def __init__(self, stack: AsyncExitStack, seconds: dict[str, float]) -> None:
        self._stack, self._seconds = stack, seconds

    def push_async_callback(self, callback: Any, /, *args: Any, **kwargs: Any) -> Any:
        timed = stopwatch(callback, self._seconds, "clean_up")
        return self._stack.push_async_callback(timed, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stack, name)


def timed_registry(seconds: dict[str, float]) -> Registry:
    """The installed OpenAI provider, each component seen through a stopwatch."""
    installed = Registry.installed()
    spec = installed.spec("openai")

    def timed(component: Component) -> Component:
        async def factory(context: ProviderContext) -> Timed:
            stack: Any = TimedStack(context.exit_stack, seconds)
            made = await installed.create(
                component.role, component.name, replace(context, exit_stack=stack)
            )
            return Timed(made, seconds)

        return replace(component, factory=factory)

    return Registry([replace(spec, components=tuple(timed(c) for c in spec.components))])


def help_seconds(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "agentic_image_gen", "--help"], check=True, capture_output=True
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def pct(ratio: float) -> str:
    return f"{100 * ratio:.1f} %"


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

    # A warm-up run through every kind of call, so one-time imports inside the SDK (it loads
    # each resource on first use) don't count as the loop's overhead.
    with RemoteFake([50, 90], latency={}) as fake:
        await timed_run(fake.base_url, work, refs, max_iterations=2)

    # 1. Overhead of a 5-round run, split three ways: the API's own time on the critical path
    #    (the fake's, request line to reply sent), the client's work inside the provider calls
    #    (SDK, HTTP, checking the image, the evaluator's JPEG copy), and the loop's own
    #    orchestration outside them (references, run folder, journal, scheduling). The
    #    checklist and the prompter's conversation are made beside round 1 (checked below).
    in_providers: dict[str, float] = {}
    with RemoteFake([40, 50, 60, 70, 80], latency=LATENCY) as fake:
        wall, result = await timed_run(
            fake.base_url, work, refs, in_providers, max_iterations=5, threshold=99
        )
    critical = [seen for seen in fake.seen if seen.kind in CRITICAL]
    side = [seen for seen in fake.seen if seen.kind not in CRITICAL + CLEANUP]
    first_evaluation = next(seen for seen in fake.seen if seen.kind == "evaluation")
    side_overlapped = all(seen.ended <= first_evaluation.ended for seen in side)
    api = sum(seen.seconds for seen in critical)
    injected = sum(LATENCY.get(seen.kind, 0.0) for seen in critical)
    providers = sum(in_providers.values())
    side_actions = ("deriving the checklist", "starting the prompter's conversation")
    sdk = sum(r.seconds for r in result.usage if r.action not in side_actions)
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

    # 3. Reference bytes per run: a round of N = 4 candidates with two injected retries and
    #    two references. Each reference travels once (one upload), whatever the candidates,
    #    retries, checklist derivation and identity checks: every request names the file.
    side_photo = ring_photo(1600, 1200, fmt="PNG")
    ref_two = work / "ring-side.png"
    ref_two.write_bytes(side_photo)
    two_refs = (str(ref), str(ref_two))
    retries = [{"status": 500, "kind": "generation"}] * 2
    with RemoteFake([60, 70, 80, 90], latency={}, faults=retries) as fake_refs:
        await timed_run(
            fake_refs.base_url, work, two_refs, max_iterations=1, threshold=99, candidates=4
        )
    references_size = len(ring_photo(1600, 1200)) + len(side_photo)
    uploaded = sum(seen.upload_bytes for seen in fake_refs.seen)
    # Inline references too, if any: every image of a generation or checklist request, and
    # all but the last (the candidate) of a judgement.
    inline = sum(
        sum(seen.image_bytes if seen.kind != "evaluation" else seen.image_bytes[:-1])
        for seen in fake_refs.seen
        if seen.kind in ("generation", "checklist", "evaluation")
    )
    reference_bytes = uploaded + inline
    named = sum(seen.file_images for seen in fake_refs.seen)
    sent_inline = [seen.image_bytes for seen in fake_refs.seen if seen.kind == "generation"]

    # 4. The evaluator's image payload over the full image, with photo-like images.
    with RemoteFake([95], textured_images=True) as fake_photo:
        _, photo = await timed_run(fake_photo.base_url, work, refs, max_iterations=1)
    full = len(await asyncio.to_thread(Path(photo.iterations[0].image_path).read_bytes))
    (judged,) = [seen for seen in fake_photo.seen if seen.kind == "evaluation"]
    evaluator_bytes = judged.image_bytes[-1]  # the candidate comes after the references

    help_time = help_seconds()

    print(f"agentic-image-gen benchmark; fake API latency in seconds: {LATENCY}\n")
    loop = wall - providers
    line(
        "loop orchestration overhead, 5 rounds / critical path",
        pct(loop / api),
        "<= 2 %",
        loop / api <= 0.02,
    )
    print(
        f"    wall {wall:.3f} s; the API's own time on the critical path {api:.3f} s "
        f"({injected:.2f} s injected); in provider calls {providers:.3f} s; loop "
        f"{ms(loop)} ({ms(loop / 5)} a round)"
    )
    clean_up = in_providers.get("clean_up", 0.0)
    print(
        f"    inside the provider calls, beyond the API's time: {ms(providers - api)} "
        f"({ms((providers - api) / 5)} a round; {pct((providers - api) / api)}): the SDK and "
        f"HTTP {ms(sdk - api)}, the providers' own work (checking images, the evaluator's "
        f"copies) {ms(providers - sdk - clean_up)}, deleting the run's uploads after it "
        f"{ms(clean_up)}"
    )
    print(f"    end to end, wall over the API's time: {pct((wall - api) / api)}")
    print(
        f"    off the critical path: {', '.join(seen.kind for seen in side)}; all done "
        f"within round 1: {'yes' if side_overlapped else 'NO'}"
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
    line(
        "reference bytes per run, N = 4, 2 retries, 2 references",
        f"{reference_bytes:,} B",
        f"{references_size:,} B",
        reference_bytes == references_size,
    )
    print(
        f"    uploaded {uploaded:,} B in {sum(1 for s in fake_refs.seen if s.upload_bytes)} "
        f"uploads, inline {inline:,} B; {named} image parts named a file "
        f"({len(sent_inline)} generation requests)"
    )
    ratio = evaluator_bytes / full
    line("evaluator image payload / full image", f"{100 * ratio:.1f} %", "<= 25 %", ratio <= 0.25)
    print(f"    full PNG {full:,} B, evaluator JPEG {evaluator_bytes:,} B")
    line(
        "cold `--help` (median of 5 processes)", f"{help_time:.3f} s", "<= 0.3 s", help_time <= 0.3
    )


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    asyncio.run(main())
