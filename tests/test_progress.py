"""Live progress: the lines a terminal sees, and silence when stderr is not a terminal."""

from __future__ import annotations

import io
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from pydantic import SecretStr
from rich.console import Console

from agentic_image_gen.core.config import ProviderNames, RunConfig
from agentic_image_gen.core.types import Evaluation, Iteration, OutputFormat, RunResult
from agentic_image_gen.engine.loop import LoopEvent, run_image_generation_loop
from agentic_image_gen.frontends import progress
from agentic_image_gen.frontends.progress import RichProgress, make_progress
from agentic_image_gen.providers.base import ProviderContext, build_providers


def terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, color_system=None, width=240), buffer


def landed(index: int) -> Iteration:
    """An iteration whose image is on disk, not yet scored."""
    return Iteration(
        index=index,
        prompt="a ring",
        image_path=f"/runs/r1/images/iter-{index:02d}.png",
        width=64,
        height=64,
        output_format=OutputFormat.PNG,
        generation_seconds=2.5,
    )


def play(sink: RichProgress, scores: list[int], feedback: str = "Nice ring.") -> RunResult:
    """Feed the events the loop emits for a run with these scores."""
    result = RunResult(run_dir="/runs/r1", original_prompt="a ring", iterations=[])
    for index, score in enumerate(scores, start=1):
        sink(LoopEvent("generating", index, result))
        result.iterations.append(landed(index))
        sink(LoopEvent("evaluating", index, result))
        result.iterations[-1].evaluation = Evaluation(score=score, feedback=feedback)
        result.iterations[-1].evaluation_seconds = 1.25
        sink(LoopEvent("scored", index, result))
        if index < len(scores):
            sink(LoopEvent("refining", index, result))
    result.stop_reason = "max_iterations"
    sink(LoopEvent("done", len(scores), result))
    return result


def test_a_terminal_sees_every_stage_scores_best_and_a_summary() -> None:
    console, buffer = terminal()
    play(RichProgress(3, console=console), [40, 75, 60])
    text = buffer.getvalue()
    lines = text.splitlines()
    stage_lines = [line for line in lines if "#" in line and "/3" in line]
    assert len(stage_lines) == 3 * 3 + 2  # generating, evaluating, scored each; refining twice
    assert all(line.strip().split()[0].endswith("s") for line in stage_lines)  # elapsed time
    assert "#1/3  generating …" in text
    assert "#2/3  prompt refined in" in text
    assert "image ready in" in text and "evaluating …" in text
    assert "#1/3  scored in 0.0s · score 40 · best 40 (#1)" in text
    assert "score 75 · best 75 (#2) ▲ new best" in text
    assert "score 60 · best 75 (#2)" in text
    assert "refining the prompt" in text
    assert "done · 3 iteration(s)" in text
    assert "Run summary" in text
    table = [line for line in lines if line.startswith("│")]
    assert len(table) == 3
    assert "★ 2" in table[1] and "75" in table[1] and "2.5s" in table[1] and "1.2s" in table[1]
    assert "used every iteration" in text and "/runs/r1" in text


def test_user_text_is_not_read_as_rich_markup() -> None:
    console, buffer = terminal()
    play(RichProgress(1, console=console), [90], feedback="Remove the [bold]glare[/bold] [red]")
    assert "Remove the [bold]glare[/bold] [red]" in buffer.getvalue()


def test_a_non_terminal_gets_nothing() -> None:
    buffer = io.StringIO()
    sink = RichProgress(2, console=Console(file=buffer))
    assert not sink.enabled
    play(sink, [50, 90])
    sink.summary(RunResult(run_dir="/r", original_prompt="p", iterations=[]))
    assert buffer.getvalue() == ""


def test_make_progress_is_none_when_quiet_or_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: True)
    assert make_progress(3, quiet=True) is None
    assert isinstance(make_progress(3, quiet=False), RichProgress)
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: False)
    assert make_progress(3, quiet=False) is None


async def test_the_real_loop_drives_it(fake_openai: FakeOpenAIServer, tmp_path: Path) -> None:
    """The events of a real run (loop + OpenAI providers on the fake server) print as expected."""
    config = RunConfig(
        prompt="gold ring",
        out_dir=tmp_path,
        max_iterations=3,
        threshold=90,
        api_key=SecretStr("test-key"),
        base_url=fake_openai.base_url,
        providers=ProviderNames(evaluator="rubric"),  # scripted scores are rubric replies
    )
    fake_openai.script_scores([30, 95])
    console, buffer = terminal()
    async with AsyncExitStack() as stack:
        providers = await build_providers(ProviderContext(config, stack), config.providers)
        result = await run_image_generation_loop(
            config, providers, on_event=RichProgress(3, console=console)
        )
    assert [it.score for it in result.iterations] == [30, 95]
    text = buffer.getvalue()
    assert "score 30" in text and "score 95 · best 95 (#2) ▲ new best" in text
    assert "reached the threshold" in text and result.run_dir in text


def test_a_candidate_scored_before_a_newer_one_shows_its_own_score() -> None:
    console, buffer = terminal()
    sink = RichProgress(1, console=console)
    result = RunResult(run_dir="/runs/r1", original_prompt="a ring", iterations=[])
    result.iterations += [landed(1), landed(2)]  # candidate 2 landed but is not scored yet
    result.iterations[0].evaluation = Evaluation(score=55, feedback="ok")
    sink(LoopEvent("scored", 1, result))
    assert "#1/1  scored in" in buffer.getvalue()
    assert "score 55 · best 55 (#1)" in buffer.getvalue()
