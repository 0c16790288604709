"""The run folder: every image as it arrives, the references, and run.json.

Every write is atomic (temp file, fsync, rename), and an image is on disk before the journal
names it, so a crash loses at most the step in flight.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError, field_serializer, field_validator

from agentic_image_gen.core.config import RunConfig, public_dump
from agentic_image_gen.core.errors import InputError, ProviderError, StorageError
from agentic_image_gen.core.types import (
    GeneratedImage,
    Iteration,
    OutputFormat,
    ReferenceImage,
    RunResult,
)

JOURNAL_NAME = "run.json"
REPORT_NAME = "report.html"
JOURNAL_VERSION = 1
RunStatus = Literal["running", "completed", "failed", "interrupted"]
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


class StoredReference(BaseModel):
    source: str
    path: str
    width: int
    height: int


class RunJournal(BaseModel):
    """run.json: enough to rebuild every view of the run, and to resume it."""

    version: int = JOURNAL_VERSION
    status: RunStatus = "running"
    created_at: str
    updated_at: str
    config: RunConfig
    references: list[StoredReference] = []
    result: RunResult

    @field_validator("config", mode="before")
    @classmethod
    def _config_v1(cls, config: Any) -> Any:
        """Before providers were plugins, the OpenAI model names were a field of their own."""
        if isinstance(config, dict) and isinstance(config.get("models"), dict):
            config = dict(config)
            models = config.pop("models")
            config.setdefault("provider_options", {}).setdefault("openai", models)
        return config

    @field_serializer("config")
    def _config_without_secrets(self, config: RunConfig) -> dict[str, Any]:
        return public_dump(config)


def slugify(text: str, max_length: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "run"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file beside ``path``, fsync, then rename over it."""
    try:
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def load_journal(run_dir: Path) -> RunJournal:
    """A run folder's journal, or a one-line InputError saying what is wrong with it."""
    path = run_dir / JOURNAL_NAME
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a run folder")
    try:
        return RunJournal.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise InputError(f"{run_dir} has no {JOURNAL_NAME}: not a run folder") from exc
    except (OSError, ValidationError, ValueError) as exc:
        raise InputError(f"{path} is damaged and cannot be read") from exc


class RunStore:
    """One run's folder. Many runs may go at once: nothing here is global."""

    def __init__(self, run_dir: Path, journal: RunJournal) -> None:
        self.run_dir = run_dir
        self.journal = journal

    @classmethod
    def create(cls, out_dir: Path, prompt: str, config: RunConfig) -> RunStore:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        base = f"{stamp}-{slugify(prompt)}"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            run_dir = out_dir / base
            while True:
                try:
                    run_dir.mkdir()
                    break
                except FileExistsError:
                    run_dir = out_dir / f"{base}-{secrets.token_hex(2)}"
            (run_dir / "images").mkdir()
        except OSError as exc:
            raise StorageError(f"cannot create a run folder in {out_dir}: {exc.strerror}") from exc
        run_dir = run_dir.resolve()
        now = _now()
        journal = RunJournal(
            created_at=now,
            updated_at=now,
            config=config,
            result=RunResult(run_dir=str(run_dir), original_prompt=prompt, iterations=[]),
        )
        store = cls(run_dir, journal)
        store.write_snapshot(store.snapshot(store.journal.result))
        return store

    @classmethod
    def open(cls, run_dir: Path) -> RunStore:
        """An existing run folder, to resume it."""
        return cls(run_dir.resolve(), load_journal(run_dir))

    def save_reference(self, number: int, reference: ReferenceImage) -> StoredReference:
        folder = self.run_dir / "references"
        folder.mkdir(exist_ok=True)
        extension = _EXTENSIONS.get(reference.mime_type, "img")
        path = folder / f"ref-{number:02d}.{extension}"
        atomic_write(path, reference.data)
        stored = StoredReference(
            source=reference.source, path=str(path), width=reference.width, height=reference.height
        )
        self.journal.references.append(stored)
        return stored

    def image_path(self, index: int, output_format: OutputFormat) -> Path:
        return self.run_dir / "images" / f"iter-{index:02d}.{output_format.extension}"

    def save_image(self, index: int, image: GeneratedImage) -> Path:
        path = self.image_path(index, image.output_format)
        atomic_write(path, image.data)
        return path

    def save_delivery(self, profile: str, file_format: str, data: bytes) -> Path:
        """The file made for a marketplace profile: ``delivery/<profile>.<ext>``."""
        folder = self.run_dir / "delivery"
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {folder}: {exc.strerror}") from exc
        path = folder / f"{profile}.{'jpg' if file_format == 'jpeg' else file_format}"
        atomic_write(path, data)
        return path

    def snapshot(self, result: RunResult, status: RunStatus = "running") -> bytes:
        """The journal as bytes. Taken on the event loop, so concurrent candidates never
        change the result while it is being serialised; written later in a thread."""
        self.journal.result = result
        self.journal.status = status
        self.journal.updated_at = _now()
        return self.journal.model_dump_json(indent=2).encode("utf-8")

    def write_snapshot(self, data: bytes) -> None:
        atomic_write(self.run_dir / JOURNAL_NAME, data)


class JournalWriter:
    """Writes journal snapshots off the critical path: one write at a time, newest wins.

    Snapshots are taken (and images saved) before ``submit``, so the file on disk is always a
    consistent, possibly one step older, state; ``flush`` waits for the newest to land.
    """

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._pending: bytes | None = None
        self._task: asyncio.Task[None] | None = None

    def submit(self, data: bytes) -> None:
        if self._task is not None and self._task.done():
            self._task.result()  # a failed write (StorageError) surfaces here
        self._pending = data
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending is not None:
            data, self._pending = self._pending, None
            await asyncio.to_thread(self._store.write_snapshot, data)

    async def flush(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._task is not None:
            self._task.result()


def read_back(iteration: Iteration) -> GeneratedImage:
    """An image saved before a crash (or for a tie-break), read back to be evaluated."""
    from agentic_image_gen.inputs.imaging import NotAnImage, decode_image  # Pillow: not for --help

    try:
        data = Path(iteration.image_path).read_bytes()
        decoded = decode_image(data)
    except (OSError, NotAnImage) as exc:
        raise ProviderError(f"cannot read back {iteration.image_path}: {exc}") from exc
    return GeneratedImage(
        data=data,
        output_format=iteration.output_format,
        width=iteration.width,
        height=iteration.height,
        context=iteration.context,
        revised_prompt=iteration.revised_prompt,
        pixels=decoded.pixels,
    )
