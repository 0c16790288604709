"""The runs the web app shows and drives: one Session, a queue with a concurrency limit, the
event log of each run, and the state file that lets a killed server go on where it stopped.

A run waiting for a person holds no slot: while it waits the next queued run starts (a
decision may then take the count over the limit for a while; nothing is cancelled for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import agentic_image_gen.engine.runs as runs
from agentic_image_gen.core.config import RunConfig, problems
from agentic_image_gen.core.errors import AigError, RunFailed
from agentic_image_gen.core.events import Event, ReviewRequested, RunStarted
from agentic_image_gen.core.output import RunSummary
from agentic_image_gen.core.review import ReviewRequest
from agentic_image_gen.core.types import Delivery
from agentic_image_gen.engine.review import PendingReviews
from agentic_image_gen.engine.session import Session, resumed_config
from agentic_image_gen.frontends.web.events import EventLog, file_url
from agentic_image_gen.frontends.web.intake import DecisionBody, Refused, decision, upload_reason
from agentic_image_gen.frontends.web.state import Entry, Job, StagedRef, StateFile, WebState, now

Sink = Callable[[Event], None]
Work = Callable[[Sink], Awaitable[None]]
_FOLDER_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def one_line(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{field or 'config'}: {message}" for field, message in problems(error))
    text = str(error).strip().splitlines()
    return text[0] if text and isinstance(error, AigError) else f"{type(error).__name__}: {error}"


@dataclass
class Folder:
    """A run folder as last read (by run.json's modification time)."""

    stamp: int
    summary: RunSummary
    best_image: str | None
    config: RunConfig
    delivery: Delivery | None = None  # the file made for the run's profile, and its rules


class WebRun:
    def __init__(self, entry: Entry, epoch: str) -> None:
        self.entry = entry
        self.log = EventLog(epoch)
        self.task: asyncio.Task[None] | None = None
        self.run_dir: Path | None = None
        self.first_event: asyncio.Future[None] | None = None

    @property
    def run_id(self) -> str:
        return self.entry.run_id


class RunManager:
    def __init__(self, session: Session, out: Path, max_runs: int, allow_private: bool) -> None:
        self.session = session
        self.out = out.resolve()
        self.max_runs = max_runs
        self.allow_private = allow_private
        self.reviews = PendingReviews()
        self.epoch = secrets.token_hex(3)
        self.state = StateFile(self.out)
        self.runs: dict[str, WebRun] = {}
        self.queue: deque[str] = deque()
        self.closing = False
        self._folders: dict[str, Folder] = {}
        self._skipped: dict[str, str] = {}

    # ---- start and stop -------------------------------------------------------------------
    def start(self) -> None:
        """Load the state; what was queued or running when the server stopped goes on."""
        for entry in sorted(self.state.load().runs, key=lambda e: e.created_at):
            run = self._adopt(entry)
            if entry.job is not None:
                self.queue.append(run.run_id)
        self._pump()

    def end_streams(self) -> None:
        """The server is stopping: open pages are let go (they reconnect to the next one)."""
        for run in self.runs.values():
            run.log.closed = True
            run.log.wake()

    async def close(self) -> None:
        """Stop every run (journaled interrupted); their jobs stay owed for the next start."""
        self.closing = True
        tasks = [run.task for run in self.runs.values() if run.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for run in self.runs.values():
            run.log.wake()
        await self.state.flush()
        self.state.write_now(self._snapshot())

    # ---- runs by id -----------------------------------------------------------------------
    def get(self, run_id: str) -> WebRun | None:
        """A run the app knows, or a run folder under --out by its name."""
        if run_id in self.runs:
            return self.runs[run_id]
        if not run_id or set(run_id) - _FOLDER_NAME_OK or run_id.strip(".") == "":
            return None
        if not (self.out / run_id / runs.JOURNAL_NAME).is_file():
            return None
        return self._adopt(Entry(run_id=run_id, folder=run_id, created_at=now(), prompt=""))

    def _adopt(self, entry: Entry) -> WebRun:
        run = WebRun(entry, self.epoch)
        if entry.folder is not None:
            run.run_dir = self.out / entry.folder
            run.log.files = file_url(run.run_id, run.run_dir)
        self.runs[run.run_id] = run
        return run

    def log(self, run: WebRun) -> EventLog:
        """The run's events; a run first seen from its folder starts with its journal's."""
        if not run.log.entries and run.run_dir is not None and run.task is None:
            journal = runs.load_journal(run.run_dir)
            config = journal.config
            self._know_references(run, journal)
            run.log.replay(journal.result, config.max_iterations, config.candidates)
        return run.log

    def _know_references(self, run: WebRun, journal: runs.RunJournal | None = None) -> None:
        """The URLs of the run's reference photos (run_started events carry them)."""
        if run.run_dir is not None:
            journal = journal or runs.load_journal(run.run_dir)
            found = (run.log.files(ref.path) for ref in journal.references)
            run.log.references = [url for url in found if url]

    def folder(self, run: WebRun) -> Folder | None:
        if run.run_dir is None:
            return None
        return self._read(run.run_dir)

    def _read(self, folder: Path) -> Folder | None:
        """The folder's summary, read again only when its run.json changed."""
        try:
            stamp = (folder / runs.JOURNAL_NAME).stat().st_mtime_ns
        except OSError:
            return None
        known = self._folders.get(folder.name)
        if known is not None and known.stamp == stamp:
            return known
        try:
            journal = runs.load_journal(folder)
        except AigError as error:
            self._skipped[folder.name] = str(error)
            return None
        output = runs.output_of(folder, journal)
        prompt = " ".join(journal.result.original_prompt.split())
        summary = RunSummary.of(output, journal.created_at, prompt)
        known = Folder(stamp, summary, output.best_image_url, journal.config, output.delivery)
        self._folders[folder.name] = known
        return known

    # ---- what a run is doing --------------------------------------------------------------
    def pending(self, run: WebRun) -> ReviewRequest | None:
        return self.reviews.pending(str(run.run_dir)) if run.run_dir is not None else None

    def status(self, run: WebRun) -> str:
        if run.task is not None:
            last = run.log.entries[-1] if run.log.entries else None
            if last is not None and last.name == "run_finished":  # its clean-up still going
                return str(last.data.get("status") or "completed")
            return "waiting" if self.pending(run) is not None else "running"
        if run.entry.job is not None:
            return "queued"
        folder = self.folder(run)
        if folder is None:
            return "failed"
        journaled = folder.summary.status
        return "interrupted" if journaled in ("running", "waiting") else journaled

    def position(self, run: WebRun) -> int | None:
        """1 for the next run to start, when queued."""
        return self.queue.index(run.run_id) + 1 if run.run_id in self.queue else None

    def listing(self) -> list[dict[str, Any]]:
        """Every run under --out and every queued one, newest first."""
        by_folder = {r.entry.folder: r for r in self.runs.values() if r.entry.folder}
        rows: list[dict[str, Any]] = []
        if self.out.is_dir():
            for folder in sorted(self.out.iterdir()):
                if not (folder / runs.JOURNAL_NAME).exists():
                    continue
                known = self._read(folder)
                if known is None:
                    continue
                run = by_folder.get(folder.name) or self._adopt(
                    Entry(run_id=folder.name, folder=folder.name, created_at=now(), prompt="")
                )
                rows.append(self._row(run, known))
        for run in self.runs.values():
            if run.entry.folder is None and (run.entry.job is not None or run.entry.error):
                rows.append(self._row(run, None))
        rows.sort(key=lambda row: row["created_at"], reverse=True)
        return rows

    def _row(self, run: WebRun, known: Folder | None) -> dict[str, Any]:
        summary = known.summary if known else None
        best = known.best_image if known else None
        return {
            "run_id": run.run_id,
            "status": self.status(run),
            "stop_reason": summary.stop_reason if summary else None,
            "best_score": summary.best_score if summary else None,
            "iterations": summary.iterations if summary else 0,
            "prompt": summary.prompt if summary else run.entry.prompt,
            "created_at": summary.created_at if summary else run.entry.created_at,
            "best_image_url": run.log.files(best) if best else None,
            "error": run.entry.error,
            "position": self.position(run),
        }

    # ---- starting, steering, stopping -----------------------------------------------------
    async def submit(self, config: RunConfig, uploads: list[bytes], names: list[str]) -> WebRun:
        """Queue a new run (checked by the caller); its uploads (``names``: as uploaded) are
        kept until it has begun."""
        run_id = "w" + secrets.token_hex(6)
        staged = [
            StagedRef(
                file=await asyncio.to_thread(self.state.stage, run_id, number, data), name=name
            )
            for number, (data, name) in enumerate(zip(uploads, names, strict=True), start=1)
        ]
        staged += [StagedRef(url=ref) for ref in config.refs if isinstance(ref, str)]
        fields = config.model_dump(mode="json", exclude={"refs"})
        job = Job(kind="run", config=fields, refs=staged)
        run = self._adopt(Entry(run_id=run_id, created_at=now(), prompt=config.prompt, job=job))
        run.log.active = True
        self.queue.append(run_id)
        self._save()
        self._pump()
        return run

    def resume(self, run: WebRun, overrides: dict[str, Any]) -> None:
        self._idle(run)
        if run.run_dir is None:
            raise Refused("this run never began: start a new one", 409)
        stored = runs.load_journal(run.run_dir).config
        resumed_config(stored, overrides)  # refused now rather than when its turn comes
        run.entry.job = Job(kind="resume", overrides=overrides)
        run.entry.error = None
        self.log(run).active = True
        self.queue.append(run.run_id)
        self._save()
        self._pump()

    async def edit(self, run: WebRun, iteration: int, mask: bytes, prompt: str) -> None:
        """A region edit starts at once (a person waits for it); a refusal is raised here."""
        self._idle(run)
        if run.run_dir is None:
            raise Refused("this run never began: there is nothing to edit", 409)
        reason = self.session.edit_support(run.run_dir)
        if reason is not None:
            raise Refused(reason, 409)
        self.log(run).active = True
        first = run.first_event = asyncio.get_running_loop().create_future()
        run_dir = run.run_dir

        async def work(sink: Sink) -> None:
            await self.session.edit(run_dir, sink, iteration=iteration, mask=mask, prompt=prompt)

        run.task = asyncio.create_task(self._execute(run, work))
        await asyncio.wait({run.task, first}, return_when=asyncio.FIRST_COMPLETED)
        if not first.done():
            reason, run.entry.error = run.entry.error, None
            self._save()
            raise Refused(reason or "the edit did not start")

    def decide(self, run: WebRun, body: DecisionBody) -> None:
        request = self.pending(run)
        if request is None:
            raise Refused("this run is not waiting for a review", 409)
        try:
            self.reviews.decide(str(run.run_dir), decision(body, request))
        except (ValueError, ValidationError) as error:
            raise Refused(one_line(error)) from error

    def cancel(self, run: WebRun) -> str:
        """Stop a running run (journaled, resumable) or drop a queued job; the new status."""
        if run.task is not None:
            run.task.cancel()
            return "interrupted"
        if run.entry.job is None:
            raise Refused("this run is not running or queued", 409)
        with contextlib.suppress(ValueError):
            self.queue.remove(run.run_id)
        run.entry.job = None
        run.log.active = False
        if run.run_dir is None:  # it never began: nothing of it is kept
            self.state.unstage(run.run_id)
            del self.runs[run.run_id]
            run.log.failed("cancelled before it began")
        else:
            run.log.wake()
        self._save()
        return "interrupted"

    def _idle(self, run: WebRun) -> None:
        if run.task is not None or run.entry.job is not None:
            raise Refused("this run is already queued or running", 409)

    # ---- the queue ------------------------------------------------------------------------
    def _busy(self) -> int:
        return sum(1 for r in self.runs.values() if r.task is not None and not self.pending(r))

    def _pump(self) -> None:
        while self.queue and not self.closing and self._busy() < self.max_runs:
            run = self.runs[self.queue.popleft()]
            if run.run_dir is not None:
                self.log(run)
            run.log.active = True
            work = functools.partial(self._job, run)
            run.task = asyncio.get_running_loop().create_task(self._execute(run, work))

    async def _job(self, run: WebRun, sink: Sink) -> None:
        job = run.entry.job
        assert job is not None
        if run.run_dir is None:
            await self.session.run(self._config(run.run_id, job), sink, reviewer=self.reviews)
        else:  # a resume, or a new run that had begun before the server stopped
            overrides = job.overrides
            await self.session.resume(run.run_dir, sink, reviewer=self.reviews, **overrides)

    def _config(self, run_id: str, job: Job) -> RunConfig:
        refs: list[str | bytes] = []
        for ref in job.refs:
            refs.append(self.state.staged(ref.file) if ref.file else ref.url or "")
        return RunConfig.model_validate({**(job.config or {}), "refs": refs})

    async def _execute(self, run: WebRun, work: Work) -> None:
        count = len(run.log.entries)
        try:
            await work(functools.partial(self._on_event, run))
        except asyncio.CancelledError:
            if self.closing:
                raise
        except RunFailed:
            pass  # journaled, and its RunFinished is in the log
        except Exception as error:  # refused before the run began: say why, keep serving
            names = run.entry.job.uploaded() if run.entry.job is not None else []
            run.entry.error = upload_reason(one_line(error), names)
            told = run.first_event is None or run.first_event.done()
            if told and not any(e.name == "run_finished" for e in run.log.entries[count:]):
                run.log.failed(run.entry.error)
        finally:
            run.task = None
            run.first_event = None
            if not self.closing:
                run.entry.job = None
                run.log.active = False
                run.log.wake()
                self.state.unstage(run.run_id)  # copied into the folder, or never to be used
                self._save()
                self._pump()

    def _on_event(self, run: WebRun, event: Event) -> None:
        if isinstance(event, RunStarted) and run.entry.folder is None:
            run.run_dir = Path(event.run_dir)
            run.entry.folder = run.run_dir.name
            run.log.files = file_url(run.run_id, run.run_dir)
            self._save()  # the folder is known: a restart resumes it instead of starting over
        if isinstance(event, RunStarted):
            with contextlib.suppress(AigError):
                self._know_references(run)
        if run.first_event is not None and not run.first_event.done():
            run.first_event.set_result(None)
        run.log.add(event)
        if isinstance(event, ReviewRequested):
            self._pump()  # a run waiting for a person frees its slot

    def _snapshot(self) -> WebState:
        kept = [
            run.entry
            for run in self.runs.values()
            if run.entry.run_id != run.entry.folder or run.entry.job is not None
        ]
        return WebState(runs=kept)

    def _save(self) -> None:
        self.state.save(self._snapshot())
