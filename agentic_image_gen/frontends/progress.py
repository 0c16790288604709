"""Live progress on stderr with rich: a line per stage, scores as they land, a summary table.

Progress is for a person watching a terminal; stdout carries the JSON and is never touched,
and nothing is printed when stderr is not a terminal (pipes, CI logs, ``--quiet``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentic_image_gen.core.types import RunResult
from agentic_image_gen.engine.loop import LoopEvent

_STOP_REASONS = {
    "threshold": "reached the threshold",
    "max_iterations": "used every iteration",
    "error": "stopped on an error",
    "interrupted": "interrupted",
}


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class RichProgress:
    """Call it with each LoopEvent; it prints one line per stage and a table when done.

    Each line shows the time since the run started and how long the stage that just ended
    took, so a slow provider is visible while it happens, not only in the final JSON.
    """

    def __init__(self, total_iterations: int, console: Console | None = None) -> None:
        if console is None:
            console = Console(stderr=True, highlight=False)
            self._enabled = console.is_terminal and _stderr_is_terminal()
        else:
            self._enabled = console.is_terminal
        self._console = console
        self._total = total_iterations
        self._started = time.monotonic()
        self._stage_started = self._started
        self._best_seen = -1

    @property
    def enabled(self) -> bool:
        return self._enabled

    def __call__(self, event: LoopEvent) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        took = now - self._stage_started
        self._stage_started = now
        where = f"[bold]#{event.iteration}[/]/{self._total}"
        stage = event.stage
        if stage == "generating":
            done = f"prompt refined in {took:.1f}s · " if event.iteration > 1 else ""
            text = f"{done}[cyan]generating[/] …"
        elif stage == "evaluating":
            text = f"image ready in {took:.1f}s · [cyan]evaluating[/] …"
        elif stage == "scored":
            text = self._scored(event.result, event.iteration, took)
        elif stage == "refining":
            text = "[cyan]refining the prompt[/] …"
        elif stage == "done":
            self._line(now, f"[bold]done[/] · {len(event.result.iterations)} iteration(s)")
            self.summary(event.result)
            return
        else:  # a stage added later (e.g. partial images) still gets its line
            text = escape(str(stage))
        self._line(now, f"{where}  {text}")

    def _scored(self, result: RunResult, index: int, took: float) -> str:
        # With candidates, the image just scored need not be the newest one.
        latest = next(it for it in result.iterations if it.index == index)
        best = result.best()
        new_best = latest.score > self._best_seen
        self._best_seen = max(self._best_seen, latest.score)
        colour = "green" if new_best else "yellow"
        text = f"scored in {took:.1f}s · score [bold {colour}]{latest.score}[/]"
        if best is not None:
            marker = " [green]▲ new best[/]" if new_best and latest.index > 1 else ""
            text += f" · best {best.score} (#{best.index}){marker}"
        return text

    def _line(self, now: float, text: str) -> None:
        self._console.print(f"[dim]{now - self._started:7.1f}s[/]  {text}", highlight=False)

    def summary(self, result: RunResult) -> None:
        """The table of every iteration; call it also after a failed run, with the partial one."""
        if not self._enabled:
            return
        best = result.best()
        table = Table(title="Run summary", title_justify="left", expand=False)
        table.add_column("#", justify="right")
        table.add_column("score", justify="right")
        table.add_column("generation", justify="right")
        table.add_column("evaluation", justify="right")
        table.add_column("critique", overflow="ellipsis", no_wrap=True, max_width=60)
        for it in result.iterations:
            is_best = best is not None and it.index == best.index
            score = "—" if it.evaluation is None else str(it.score)
            critique = "" if it.evaluation is None else " ".join(it.evaluation.feedback.split())
            table.add_row(
                f"★ {it.index}" if is_best else str(it.index),
                f"[bold green]{score}[/]" if is_best else score,
                f"{it.generation_seconds:.1f}s",
                f"{it.evaluation_seconds:.1f}s",
                escape(critique),
                style="bold" if is_best else None,
            )
        reason = _STOP_REASONS.get(result.stop_reason or "", result.stop_reason or "unfinished")
        elapsed = time.monotonic() - self._started
        self._console.print(table)
        line = f"[bold]{escape(reason)}[/] in {elapsed:.1f}s · {escape(result.run_dir)}"
        self._console.print(line, soft_wrap=True, highlight=False)


def make_progress(total: int, quiet: bool) -> Callable[[LoopEvent], None] | None:
    """The CLI's progress sink: None when quiet or when stderr is not a terminal."""
    if quiet or not _stderr_is_terminal():
        return None
    return RichProgress(total)
