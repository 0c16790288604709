"""The web app's own state file: the runs it made and the jobs still owed, so killing the
server loses nothing. ``<out>/.aig-web/state.json``, written whole and atomically after every
change (temp file, fsync, rename, as run.json is), beside the uploads of runs still queued.

A run folder is the truth about a run; this file only knows what no folder can: the runs
that have no folder yet (queued), the app's id for each run it made, and which jobs (a new
run, a resume) were queued or running when the server stopped. Those go on when it starts.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from agentic_image_gen.engine.runs import atomic_write

STATE_DIR = ".aig-web"
STATE_NAME = "state.json"
STATE_VERSION = 1


class StagedRef(BaseModel):
    """One reference of a queued run, in order: an uploaded file kept here, or a URL."""

    file: str | None = None  # relative to the state folder
    url: str | None = None
    name: str | None = None  # an uploaded file's own name, for the run's messages


class Job(BaseModel):
    """Work owed to a run. ``run``: a new run (its config without refs, its refs staged);
    once its folder exists it goes on as a ``resume`` would."""

    kind: Literal["run", "resume"]
    config: dict[str, Any] | None = None
    refs: list[StagedRef] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)

    def uploaded(self) -> list[str]:
        """The uploaded files' own names, in order (the engine numbers them from 1)."""
        return [ref.name or "" for ref in self.refs if ref.file]


class Entry(BaseModel):
    run_id: str
    folder: str | None = None  # the run folder's name under --out, once it exists
    created_at: str
    prompt: str
    job: Job | None = None  # queued or running: goes on after a restart
    error: str | None = None  # why the last job failed before the run could say so


class WebState(BaseModel):
    version: int = STATE_VERSION
    runs: list[Entry] = Field(default_factory=list)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StateFile:
    """Reads the state once, then writes it after each change: one write at a time, the
    newest snapshot wins (taken on the event loop, written in a thread)."""

    def __init__(self, out: Path) -> None:
        self.folder = out / STATE_DIR
        self.path = self.folder / STATE_NAME
        self._pending: bytes | None = None
        self._task: asyncio.Task[None] | None = None

    def load(self) -> WebState:
        """The saved state; a damaged file is kept aside (named on stderr), never lost."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "uploads").mkdir(exist_ok=True)
        try:
            return WebState.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return WebState()
        except (ValidationError, ValueError, OSError) as exc:
            aside = self.path.with_name(f"{STATE_NAME}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}")
            self.path.replace(aside)
            reason = str(exc).splitlines()[0]
            print(f"warning: {self.path} is damaged ({reason}); kept as {aside}", file=sys.stderr)
            return WebState()

    def save(self, state: WebState) -> None:
        """Queue a write of ``state`` as it is now."""
        self._pending = state.model_dump_json(indent=2).encode()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending is not None:
            data, self._pending = self._pending, None
            await asyncio.to_thread(atomic_write, self.path, data)

    async def flush(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def write_now(self, state: WebState) -> None:
        """At shutdown, when no loop may run the writer."""
        atomic_write(self.path, state.model_dump_json(indent=2).encode())

    def stage(self, run_id: str, number: int, data: bytes) -> str:
        """Keep an upload of a queued run; its name relative to the state folder."""
        folder = self.folder / "uploads" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ref-{number:02d}"
        atomic_write(path, data)
        return path.relative_to(self.folder).as_posix()

    def staged(self, name: str) -> bytes:
        path = (self.folder / name).resolve()
        if not path.is_relative_to(self.folder.resolve()):  # an edited state file
            raise ValueError(f"{name!r} is not inside {self.folder}")
        return path.read_bytes()

    def unstage(self, run_id: str) -> None:
        """The run folder holds its own copies now (or the run is gone)."""
        shutil.rmtree(self.folder / "uploads" / run_id, ignore_errors=True)
