"""The batch's live progress bar on stderr: done, failed, pending, running, the cost so far and
the time left. Only when stderr is a terminal and ``--quiet`` is not given: stdout carries the
JSON summary alone."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agentic_image_gen.frontends.batch.state import Record


class ProgressBar:
    """``total``: the products this batch runs."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        console = Console(stderr=True, highlight=False)
        self._enabled = enabled and console.is_terminal and _is_terminal()
        self._progress = Progress(
            TextColumn("catalog"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not self._enabled,
        )
        self._task = self._progress.add_task("catalog", total=total, counts="")

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def show(self, records: Sequence[Record], finished: int, running: int, cost: float) -> None:
        """``finished``: products this batch has finished (the bar's progress and ETA)."""
        if not self._enabled:
            return
        count = {status: 0 for status in ("done", "failed", "pending")}
        for record in records:
            if record.status in count:
                count[record.status] += 1
        counts = (
            f"done {count['done']} · failed {count['failed']} · pending "
            f"{count['pending']} · running {running} · {cost:.2f} USD"
        )
        self._progress.update(self._task, completed=finished, counts=counts)


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
