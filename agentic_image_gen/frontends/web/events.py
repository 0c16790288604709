"""A run's events as the page and the API see them: in order, numbered, kept for replay.

Each engine event becomes one server-sent event named after it in snake_case
(``ImageSaved`` -> ``image_saved``) whose JSON data holds the event's own fields (``round``,
``candidate``, ``iteration``, ``score``...), ``at`` (when it happened, Unix seconds), the run's
``progress`` and, under ``iterations``, every image whose view changed since the previous event
(a card appears on ``image_saved``, fills in on ``image_scored``; a fidelity figure measured
after the score arrives with a later event). A page that reconnects with ``Last-Event-ID``
gets what it missed; one without gets everything from the start. Ids are ``<epoch>-<n>``:
after a restart of the server a stale id replays the whole log, which the page applies
idempotently (cards are keyed by image). A run first seen from its folder starts its log with
a replay of its journal: the same events, one per image, as they would have been sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agentic_image_gen.core.events import (
    STOP_REASON_LABELS,
    Event,
    ImageSaved,
    IterationView,
    ReviewRequested,
    RunFinished,
    Snapshot,
)
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.review import ReviewRequest

# Fields of engine events that are not data of their own (they become progress and views).
_NOT_FIELDS = frozenset({"snapshot", "result", "request"})


def event_name(event: object) -> str:
    """``ImageSaved`` -> ``image_saved``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


@dataclasses.dataclass(frozen=True)
class Entry:
    number: int
    name: str
    data: dict[str, Any]

    @functools.cached_property
    def json(self) -> str:
        """Serialised once, however many pages replay it."""
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))


class EventLog:
    """One run's events, in order, with the subscribers waiting for the next one."""

    def __init__(self, epoch: str) -> None:
        self.epoch = epoch
        # A path inside the run folder -> its URL (None: not inside, or no folder yet).
        self.files: Callable[[str], str | None] = lambda path: None
        self.entries: list[Entry] = []
        self.active = False  # a job of this run is queued or running: more will come
        self.closed = False  # the server is stopping: every stream ends now
        self.references: list[str] = []  # the URLs of the run's reference photos, in order
        self._seen: dict[int, dict[str, Any]] = {}
        self._wake = asyncio.Event()

    def event_id(self, entry: Entry) -> str:
        return f"{self.epoch}-{entry.number}"

    def after(self, last_event_id: str | None) -> int:
        """How many entries a page that saw ``last_event_id`` already has (0: a stale id)."""
        epoch, _, number = (last_event_id or "").rpartition("-")
        if epoch != self.epoch or not number.isdigit():
            return 0
        return min(int(number), len(self.entries))

    def add(self, event: Event) -> Entry:
        """The engine's event, converted and appended (called by the run's event sink)."""
        data = {k: v for k, v in _fields(event).items() if k not in _NOT_FIELDS}
        if event_name(event) == "run_started":
            data["references"] = self.references
        if isinstance(event, ImageSaved):
            data["image_url"] = self.files(event.image_path)
        if isinstance(event, ReviewRequested):
            data["request"] = self.request(event.request)
        if isinstance(event, RunFinished):
            data.update(_ending(event.result))
        return self.append(event_name(event), data, event.snapshot, self._changed(event.snapshot))

    def append(
        self,
        name: str,
        data: dict[str, Any],
        snapshot: Snapshot | None = None,
        views: list[dict[str, Any]] | None = None,
    ) -> Entry:
        data = {**data, "at": round(time.time(), 4), "iterations": views or []}
        if snapshot is not None:
            data["progress"] = {
                "images": len(snapshot.iterations),
                "cost_usd": snapshot.cost_usd,
                "best_iteration": snapshot.best_iteration,
                "best_score": snapshot.best_score,
            }
        entry = Entry(len(self.entries) + 1, name, data)
        self.entries.append(entry)
        self.wake()
        return entry

    def wake(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    async def follow(self, start: int) -> AsyncIterator[Entry]:
        """Entries from position ``start`` on, as they come, until the run's last event when
        nothing more is queued or running for it."""
        position = start
        while True:
            while position < len(self.entries):
                yield self.entries[position]
                position += 1
            if self.closed or (
                not self.active and self.entries and self.entries[-1].name == "run_finished"
            ):
                return
            await self._wake.wait()

    def replay(self, result: RunResult, max_rounds: int, candidates: int) -> None:
        """The journal's story as events (a run first seen from its folder)."""
        snapshot = Snapshot.of(result)
        self.append(
            "run_started",
            {"run_dir": result.run_dir, "max_rounds": max_rounds, "candidates": candidates,
             "round": 0, "candidate": 0, "iteration": 0, "references": self.references},
            snapshot,
        )
        for view in snapshot.iterations:
            shown = self._view(view)
            self._seen[view.index] = shown
            where = {"round": view.round, "candidate": view.candidate, "iteration": view.index}
            saved = {**where, "image_path": view.image_path, "image_url": shown["image_url"]}
            self.append("image_saved", saved, snapshot, [shown])
            if view.score is not None:
                self.append("image_scored", {**where, "score": view.score}, snapshot, [shown])
        if result.stop_reason is not None:
            best = result.best()
            where = {
                "round": best.round if best else 0,
                "candidate": best.candidate if best else 0,
                "iteration": best.index if best else 0,
            }
            self.append("run_finished", {**where, **_ending(result)}, snapshot)

    def failed(self, error: str) -> None:
        """A run that ended before it began (no folder): its last event all the same."""
        self.append(
            "run_finished",
            {"round": 0, "candidate": 0, "iteration": 0, "stop_reason": "error",
             "label": STOP_REASON_LABELS["error"], "error": error, "status": "failed",
             "began": False},
        )

    def request(self, request: ReviewRequest) -> dict[str, Any]:
        return {
            "kind": request.kind,
            "round": request.round,
            "suggested": request.suggested,
            "can_continue": request.can_continue,
            "candidates": [
                {
                    "iteration": c.iteration,
                    "round": c.round,
                    "candidate": c.candidate,
                    "score": c.score,
                    "feedback": c.feedback,
                    "image_url": self.files(c.image_path),
                }
                for c in request.candidates
            ],
        }

    def _changed(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        changed = []
        for view in snapshot.iterations:
            shown = self._view(view)
            if self._seen.get(view.index) != shown:
                self._seen[view.index] = shown
                changed.append(shown)
        return changed

    def _view(self, view: IterationView) -> dict[str, Any]:
        return {
            "index": view.index,
            "round": view.round,
            "candidate": view.candidate,
            "score": view.score,
            "feedback": view.feedback,
            "prompt": view.prompt,
            "image_url": self.files(view.image_path),
            "requirements": (
                [r.model_dump(mode="json") for r in view.requirements]
                if view.requirements is not None
                else None
            ),
            "fidelity": view.fidelity.model_dump(mode="json") if view.fidelity else None,
            "generation_seconds": view.generation_seconds,
            "evaluation_seconds": view.evaluation_seconds,
        }


def _fields(event: Event) -> dict[str, Any]:
    return {field.name: getattr(event, field.name) for field in dataclasses.fields(event)}


def _ending(result: RunResult) -> dict[str, Any]:
    return {
        "stop_reason": result.stop_reason,
        "label": STOP_REASON_LABELS.get(result.stop_reason or "", "unfinished"),
        "error": result.error,
        "status": result.status(),
    }


def file_url(run_id: str, run_dir: Path) -> Callable[[str], str | None]:
    """A path inside ``run_dir`` as the URL the app serves it under (None: outside). The
    engine's paths are absolute under the resolved folder: a prefix test, no system call."""
    root = str(run_dir.resolve()) + "/"

    def url(path: str) -> str | None:
        if not path.startswith(root) or "/../" in path:
            return None
        return f"/runs/{run_id}/{quote(path[len(root):])}"

    return url
