"""The server's runs, by id: each one an asyncio task of the one Session, owned by the server
rather than by the tool call that started it, so a client's timeout or disconnect never stops
a paid run. The run folder stays the state: a run found under ``--out`` is read from it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import AigError, InputError, RunFailed
from agentic_image_gen.core.events import Event, RunStarted
from agentic_image_gen.core.output import RunOutput, RunSummary
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.review import ReviewDecision, ReviewRequest
from agentic_image_gen.engine.review import PendingReviews
from agentic_image_gen.engine.runs import JOURNAL_NAME
from agentic_image_gen.engine.session import Session
from agentic_image_gen.frontends.mcp.arguments import Policy, message_of

Start = Callable[[Callable[[Event], None]], Awaitable[RunResult]]
Watch = asyncio.Queue[Event | None]  # None: the run's task is done


@dataclass
class Tracked:
    """A run this server drives (or drove): its task and whoever watches it."""

    task: asyncio.Task[RunOutput]
    run_id: str = ""
    run_dir: Path = Path()
    key: str = ""  # the run folder as the engine names it (PendingReviews' key)
    max_rounds: int = 0
    candidates: int = 1
    watches: set[Watch] = field(default_factory=set)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    # Review requests put to a person by elicitation (asked once each), and the one answered
    # last (the engine takes it up on its next turn).
    asked: set[ReviewRequest] = field(default_factory=set)
    answered: ReviewRequest | None = None

    def ended(self) -> None:
        """Wake whoever waits: the task is done."""
        for watch in self.watches:
            watch.put_nowait(None)

    @property
    def running(self) -> bool:
        return not self.task.done()


class RunBook:
    """Runs by id (the run folder's name): start, resume, wait, review, cancel, list."""

    def __init__(self, session: Session, policy: Policy) -> None:
        self.session = session
        self.policy = policy
        self.reviews = PendingReviews()
        self._runs: dict[str, Tracked] = {}

    async def start(self, config: RunConfig, watch: Watch | None = None) -> Tracked:
        """A new run, once its folder exists; a bad reference or argument raises here."""
        return await self._launch(
            lambda tell: self.session.run(config, tell, reviewer=self.reviews), watch
        )

    async def resume(
        self, run_id: str, limits: dict[str, Any], watch: Watch | None = None
    ) -> Tracked:
        tracked, run_dir = self.find(run_id)
        if tracked is not None and tracked.running:
            raise InputError(f"run {run_id} is still running: wait_run waits for it")
        return await self._launch(
            lambda tell: self.session.resume(run_dir, tell, reviewer=self.reviews, **limits),
            watch,
        )

    async def _launch(self, start: Start, watch: Watch | None) -> Tracked:
        tracked: Tracked

        def tell(event: Event) -> None:
            if isinstance(event, RunStarted) and not tracked.started.is_set():
                self._register(tracked, event)
            for each in tracked.watches:
                each.put_nowait(event)

        tracked = Tracked(task=asyncio.create_task(self._drive(start, tell)))
        tracked.task.add_done_callback(lambda task: _retrieved(task, tracked.started.is_set()))
        tracked.task.add_done_callback(lambda _: tracked.ended())
        if watch is not None:
            tracked.watches.add(watch)
        began = asyncio.ensure_future(tracked.started.wait())
        try:
            await asyncio.wait({tracked.task, began}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            began.cancel()
        if not tracked.started.is_set():
            try:
                tracked.task.result()  # what stopped it before its folder existed
            except ValidationError as error:  # a name that is not installed here
                raise InputError(message_of(error)) from error
            raise AigError("the run ended before it began")
        return tracked

    def _register(self, tracked: Tracked, event: RunStarted) -> None:
        tracked.key = event.run_dir
        tracked.run_dir = Path(event.run_dir)
        tracked.max_rounds, tracked.candidates = event.max_rounds, event.candidates
        run_id = tracked.run_dir.name
        earlier = self._runs.get(run_id)
        if earlier is not None and earlier.run_dir != tracked.run_dir:
            run_id = f"{run_id}-{len(self._runs)}"  # the same name under another out_dir
        tracked.run_id = run_id
        self._runs[run_id] = tracked
        tracked.started.set()

    async def _drive(self, start: Start, tell: Callable[[Event], None]) -> RunOutput:
        """The run, then its report (as the CLI writes it); a failed run's partial result."""
        try:
            result = await start(tell)
        except RunFailed as failure:
            result = failure.partial
        output, _ = await self.session.publish(result)
        return output

    def find(self, run_id: str) -> tuple[Tracked | None, Path]:
        """The run named ``run_id``: one this server started, or a folder under ``--out``."""
        if not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\\0"):
            raise InputError(f"run_id {run_id!r} is not a run's id (list_runs lists them)")
        tracked = self._runs.get(run_id)
        if tracked is not None:
            return tracked, tracked.run_dir
        folder = self.policy.out_dir / run_id
        if (folder / JOURNAL_NAME).is_file():
            return None, folder.resolve()
        raise InputError(f"no run {run_id!r} here (list_runs lists this server's runs)")

    def output(self, tracked: Tracked | None, run_dir: Path) -> RunOutput:
        """The run as it stands: its final output once its task is done, else its journal."""
        task = tracked.task if tracked is not None else None
        if task is not None and task.done() and not task.cancelled() and not task.exception():
            return task.result()
        return self.session.output(run_dir)

    def pending(self, tracked: Tracked | None) -> ReviewRequest | None:
        """The review the run waits for, if it waits here."""
        if tracked is None or not tracked.running:
            return None
        request = self.reviews.pending(tracked.key)
        return None if request is tracked.answered else request

    def decide(self, tracked: Tracked | None, decision: ReviewDecision) -> None:
        if self.pending(tracked) is None:
            raise InputError(
                "this run is not waiting for a review here (a run found waiting in its folder "
                "asks again when resume_run continues it)"
            )
        assert tracked is not None
        try:
            self.reviews.decide(tracked.key, decision)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        tracked.answered = self.reviews.pending(tracked.key)

    async def wait(
        self,
        tracked: Tracked,
        seconds: float,
        tell: Callable[[Event], Awaitable[None]],
        watch: Watch | None = None,
    ) -> None:
        """Until the run ends, waits for a review, or ``seconds`` pass; each event it sends
        meanwhile goes to ``tell``."""
        watch = watch if watch is not None else asyncio.Queue()
        tracked.watches.add(watch)
        try:
            async with asyncio.timeout(seconds):
                while tracked.running and self.pending(tracked) is None:
                    event = await watch.get()  # None: the run's task is done
                    if event is not None:
                        await tell(event)
        except TimeoutError:
            return
        finally:
            tracked.watches.discard(watch)
        while not watch.empty():  # the last words (RunFinished) said before it ended
            if (event := watch.get_nowait()) is not None:
                await tell(event)

    async def cancel(self, tracked: Tracked) -> None:
        """Stop the run: the engine journals it ``interrupted`` (resume_run continues it)."""
        tracked.task.cancel()
        await asyncio.wait({tracked.task})

    def list(self, limit: int) -> tuple[list[tuple[str, RunSummary]], list[str]]:
        """(run_id, summary) of runs under ``--out`` and runs this server started elsewhere,
        newest first; and why any folder was skipped."""
        ids = {str(tracked.run_dir): run_id for run_id, tracked in self._runs.items()}
        summaries, skipped = self.session.runs(self.policy.out_dir)
        seen = {summary.run_dir for summary in summaries}
        elsewhere = {Path(run_dir).parent for run_dir in ids} - {self.policy.out_dir.resolve()}
        for folder in sorted(elsewhere):
            more, _ = self.session.runs(folder)
            summaries += [s for s in more if s.run_dir in ids and s.run_dir not in seen]
        summaries.sort(key=lambda summary: (summary.created_at, summary.run_dir), reverse=True)
        rows = [(ids.get(s.run_dir, Path(s.run_dir).name), s) for s in summaries[:limit]]
        return rows, skipped

    async def close(self) -> None:
        """Stop every run still going (each journaled ``interrupted``, resumable)."""
        running = [tracked.task for tracked in self._runs.values() if tracked.running]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)


def _retrieved(task: asyncio.Task[RunOutput], began: bool) -> None:
    """A run that broke after it began is journaled; its error is logged (on stderr), never
    left as asyncio's "exception was never retrieved" (one that never began is the tool's
    error)."""
    if not task.cancelled() and (error := task.exception()) is not None and began:
        logging.getLogger(__name__).warning("a run ended with %s: %s", type(error).__name__, error)
