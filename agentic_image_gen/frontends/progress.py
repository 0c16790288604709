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

from agentic_image_gen.core.events import (
    Event,
    ImageSaved,
    ImageScored,
    ReviewRequested,
    RunFinished,
    RunStarted,
    Snapshot,
    stop_label,
)

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
    """Call it with each engine event; it prints one line per stage and a table when done.

    Each line names the round (and candidate) and shows the time since the run started and
    how long the stage that just ended took, so a slow provider is visible while it happens.
    """

    def __init__(self, console: Console | None = None) -> None:
        if console is None:
            console = Console(stderr=True, highlight=False)
            self._enabled = console.is_terminal and _stderr_is_terminal()
        else:
            self._enabled = console.is_terminal
        self._console = console
        self._rounds = 0
        self._candidates = 1
        self._started = time.monotonic()
        self._stage_started = self._started
        self._best_seen = -1

    @property
    def enabled(self) -> bool:
        return self._enabled

    def __call__(self, event: Event) -> None:
        if not self._enabled or isinstance(event, ImageSaved):  # the next stage says so
            return
        now = time.monotonic()
        took = now - self._stage_started
        self._stage_started = now
        if isinstance(event, RunStarted):
            self._rounds, self._candidates = event.max_rounds, event.candidates
            return
        if isinstance(event, RunFinished):
            if event.stop_reason not in ("error", "interrupted"):
                self._line(now, f"[bold]done[/] · {len(event.snapshot.iterations)} image(s)")
            self.summary(event.snapshot)
            return
        where = f"[bold]round {event.round}[/]/{self._rounds}"
        if self._candidates > 1:
            where += f" · candidate {event.candidate}"
        if isinstance(event, ImageScored):
            text = self._scored(event, took)
        elif isinstance(event, ReviewRequested):
            text = f"[magenta]waiting for your {event.request.kind} review[/] …"
        elif event.stage == "generating":
            done = f"prompt refined in {took:.1f}s · " if event.round > 1 else ""
            text = f"{done}[cyan]generating[/] …"
        elif event.stage == "evaluating":
            text = f"image #{event.iteration} ready in {took:.1f}s · [cyan]evaluating[/] …"
        else:
            text = "[cyan]refining the prompt[/] …"
        self._line(now, f"{where}  {text}")

    def _scored(self, event: ImageScored, took: float) -> str:
        snapshot = event.snapshot
        new_best = event.score > self._best_seen
        self._best_seen = max(self._best_seen, event.score)
        colour = "green" if new_best else "yellow"
        text = f"#{event.iteration} scored in {took:.1f}s · score [bold {colour}]{event.score}[/]"
        if snapshot.best_iteration is not None:
            marker = " [green]▲ new best[/]" if new_best and event.iteration > 1 else ""
            text += f" · best {snapshot.best_score} (#{snapshot.best_iteration}){marker}"
        return text

    def _line(self, now: float, text: str) -> None:
        self._console.print(f"[dim]{now - self._started:7.1f}s[/]  {text}", highlight=False)

    def summary(self, snapshot: Snapshot) -> None:
        """The table of every image; also after a failed run, with what it finished."""
        if not self._enabled:
            return
        table = Table(title="Run summary", title_justify="left", expand=False)
        table.add_column("#", justify="right")
        table.add_column("round", justify="right")
        table.add_column("score", justify="right")
        table.add_column("generation", justify="right")
        table.add_column("evaluation", justify="right")
        table.add_column("critique", overflow="ellipsis", no_wrap=True, max_width=60)
        for it in snapshot.iterations:
            is_best = it.index == snapshot.best_iteration
            score = "—" if it.score is None else str(it.score)
            critique = " ".join((it.feedback or "").split())
            table.add_row(
                f"★ {it.index}" if is_best else str(it.index),
                str(it.round),
                f"[bold green]{score}[/]" if is_best else score,
                f"{it.generation_seconds:.1f}s",
                f"{it.evaluation_seconds:.1f}s",
                escape(critique),
                style="bold" if is_best else None,
            )
        elapsed = time.monotonic() - self._started
        self._console.print(table)
        reason = stop_label(snapshot.stop_reason)
        line = f"[bold]{escape(reason)}[/] in {elapsed:.1f}s · {escape(snapshot.run_dir)}"
        self._console.print(line, soft_wrap=True, highlight=False)


def make_progress(quiet: bool) -> Callable[[Event], None] | None:
    """The CLI's progress sink: None when quiet or when stderr is not a terminal."""
    if quiet or not _stderr_is_terminal():
        return None
    return RichProgress()
