"""Live progress: the lines a terminal sees, and silence when stderr is not a terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from helpers import run_cli
from rich.console import Console

from agentic_image_gen.core.config import ProviderNames, RunConfig
from agentic_image_gen.core.events import (
    Event,
    ImageScored,
    RunFinished,
    RunStarted,
    Snapshot,
    StageStarted,
)
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import Evaluation, Iteration, OutputFormat
from agentic_image_gen.engine.session import Session
from agentic_image_gen.frontends import progress
from agentic_image_gen.frontends.progress import RichProgress, make_progress


def terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, color_system=None, width=240), buffer


def landed(index: int, round_number: int | None = None, candidate: int = 1) -> Iteration:
    """An iteration whose image is on disk, not yet scored."""
    return Iteration(
        index=index,
        round=round_number or index,
        candidate=candidate,
        prompt="a ring",
        image_path=f"/runs/r1/images/iter-{index:02d}.png",
        width=64,
        height=64,
        output_format=OutputFormat.PNG,
        generation_seconds=2.5,
    )


def play(sink: RichProgress, scores: list[int], feedback: str = "Nice ring.") -> RunResult:
    """Feed the events the loop emits for a run with these scores (one candidate a round)."""
    result = RunResult(run_dir="/runs/r1", original_prompt="a ring", iterations=[])
    sink(RunStarted("/runs/r1", len(scores), 1, Snapshot.of(result)))
    for index, score in enumerate(scores, start=1):
        sink(StageStarted("generating", index, 1, index, Snapshot.of(result)))
        result.iterations.append(landed(index))
        sink(StageStarted("evaluating", index, 1, index, Snapshot.of(result)))
        result.iterations[-1].evaluation = Evaluation(score=score, feedback=feedback)
        result.iterations[-1].evaluation_seconds = 1.25
        sink(ImageScored(index, 1, index, score, Snapshot.of(result)))
        if index < len(scores):
            sink(StageStarted("refining", index, 1, index, Snapshot.of(result)))
    result.stop_reason = "max_iterations"
    sink(RunFinished("max_iterations", Snapshot.of(result), result))
    return result


def test_a_terminal_sees_every_stage_scores_best_and_a_summary() -> None:
    console, buffer = terminal()
    play(RichProgress(console=console), [40, 75, 60])
    text = buffer.getvalue()
    lines = text.splitlines()
    stage_lines = [line for line in lines if "round " in line and "/3" in line]
    assert len(stage_lines) == 3 * 3 + 2  # generating, evaluating, scored each; refining twice
    assert all(line.strip().split()[0].endswith("s") for line in stage_lines)  # elapsed time
    assert "round 1/3  generating …" in text
    assert "round 2/3  prompt refined in" in text
    assert "image #1 ready in" in text and "evaluating …" in text
    assert "round 1/3  #1 scored in 0.0s · score 40 · best 40 (#1)" in text
    assert "score 75 · best 75 (#2) ▲ new best" in text
    assert "score 60 · best 75 (#2)" in text
    assert "refining the prompt" in text
    assert "done · 3 image(s)" in text
    assert "Run summary" in text
    table = [line for line in lines if line.startswith("│")]
    assert len(table) == 3
    assert "★ 2" in table[1] and "75" in table[1] and "2.5s" in table[1] and "1.2s" in table[1]
    assert "used every round" in text and "/runs/r1" in text


def test_user_text_is_not_read_as_rich_markup() -> None:
    console, buffer = terminal()
    play(RichProgress(console=console), [90], feedback="Remove the [bold]glare[/bold] [red]")
    assert "Remove the [bold]glare[/bold] [red]" in buffer.getvalue()


def test_a_non_terminal_gets_nothing() -> None:
    buffer = io.StringIO()
    sink = RichProgress(console=Console(file=buffer))
    assert not sink.enabled
    play(sink, [50, 90])
    sink.summary(Snapshot.of(RunResult(run_dir="/r", original_prompt="p", iterations=[])))
    assert buffer.getvalue() == ""


def test_make_progress_is_none_when_quiet_or_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: True)
    assert make_progress(quiet=True) is None
    assert isinstance(make_progress(quiet=False), RichProgress)
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: False)
    assert make_progress(quiet=False) is None


async def test_the_real_loop_drives_it(openai_env: FakeOpenAIServer, tmp_path: Path) -> None:
    """The events of a real run (engine + OpenAI providers on the fake) print as expected."""
    config = RunConfig(
        prompt="gold ring",
        out_dir=tmp_path,
        max_iterations=3,
        threshold=90,
        providers=ProviderNames(provider="openai", evaluator="rubric"),  # rubric scores
    )
    openai_env.script_scores([30, 95])
    console, buffer = terminal()
    async with Session() as session:
        result = await session.run(config, on_event=RichProgress(console=console))
    assert [it.score for it in result.iterations] == [30, 95]
    text = buffer.getvalue()
    assert "score 30" in text and "score 95 · best 95 (#2) ▲ new best" in text
    assert "reached the threshold" in text and result.run_dir in text


def test_events_name_round_and_candidate_and_carry_frozen_snapshots(
    openai_env: FakeOpenAIServer, tmp_path: Path
) -> None:
    """``--candidates 2 --max-iterations 2`` is two rounds of two: never "#3/2"."""
    openai_env.script_scores([30, 40, 50, 60])
    events: list[Event] = []
    config = RunConfig(
        prompt="gold ring",
        out_dir=tmp_path,
        candidates=2,
        max_iterations=2,
        threshold=99,
        providers=ProviderNames(provider="openai", evaluator="rubric"),
    )

    async def go() -> RunResult:
        async with Session() as session:
            return await session.run(config, on_event=events.append)

    import asyncio

    result = asyncio.run(go())
    scored = [e for e in events if isinstance(e, ImageScored)]
    assert sorted((e.round, e.candidate) for e in scored) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(e.round <= 2 for e in events if isinstance(e, StageStarted | ImageScored))
    # A snapshot is the run as it was: the first score's snapshot has one scored image.
    first = scored[0]
    assert [v.score for v in first.snapshot.iterations if v.score is not None] == [first.score]
    assert len(result.iterations) == 4 and isinstance(events[-1], RunFinished)
    assert events[-1].snapshot.best_score == max(it.score for it in result.iterations)


def test_the_cli_shows_rounds_not_image_numbers_over_the_cap(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console, buffer = terminal()
    monkeypatch.setattr(progress, "make_progress", lambda quiet: RichProgress(console=console))
    openai_env.script_scores([30, 40, 50, 60])
    code, _output, _ = run_cli(
        capsys, "ring", "--out", str(tmp_path), "--candidates", "2", "--max-iterations", "2",
        "--threshold", "99", "--evaluator", "rubric",
    )
    assert code == 0
    text = buffer.getvalue()
    assert "round 2/2 · candidate 2" in text and "#3/2" not in text and "round 3" not in text
