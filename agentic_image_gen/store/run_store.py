"""The run folder: every image as it arrives, the references, and run.json.

Every write is atomic (temp file, fsync, rename), and an image is on disk before the journal
names it, so a crash loses at most the step in flight. One process writes a folder at a time:
the store holds the folder's lock (store/lock.py) from ``create``/``open`` until ``close``.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic_core import PydanticSerializationError

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import StorageError
from agentic_image_gen.core.output import RunStatus
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import GeneratedImage, Iteration, OutputFormat, ReferenceImage
from agentic_image_gen.store.files import (
    atomic_write,
    current_umask,
    make_durable,
    remove_leftovers,
)
from agentic_image_gen.store.journal import (
    JOURNAL_NAME,
    JOURNAL_VERSION,
    RunJournal,
    StoredReference,
    for_disk,
    load_journal,
)
from agentic_image_gen.store.lock import FolderLock

if TYPE_CHECKING:
    from agentic_image_gen.inputs.imaging import Decoded

__all__ = [
    "JOURNAL_NAME",
    "JOURNAL_VERSION",
    "REPORT_NAME",
    "JournalWriter",
    "RunJournal",
    "RunStatus",
    "RunStore",
    "StoredReference",
    "atomic_write",
    "load_journal",
    "read_back",
]

REPORT_NAME = "report.html"
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def slugify(text: str, max_length: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "run"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunStore:
    """One run's folder. Many runs may go at once: nothing here is global.

    A store holds the folder's lock from ``create``/``open`` until ``close`` (or the end of a
    ``with`` block); the kernel drops it if the process dies first.
    """

    def __init__(self, run_dir: Path, journal: RunJournal, lock: FolderLock | None = None) -> None:
        self.run_dir = run_dir
        self.journal = journal
        self._lock = lock
        # Read once: new files get what a plain open() would give them (0o666 & ~umask).
        self.file_mode = 0o666 & ~current_umask()

    @classmethod
    def create(
        cls,
        out_dir: Path,
        prompt: str,
        config: RunConfig,
        references: Sequence[ReferenceImage] = (),
    ) -> RunStore:
        """A new run folder holding ``references``; its journal, complete from its first
        write, names them (until then the folder is no run: nothing lists or resumes it)."""
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
        lock = FolderLock(run_dir)
        now = _now()
        journal = RunJournal(
            created_at=now,
            updated_at=now,
            config=config,
            result=RunResult(run_dir=str(run_dir), original_prompt=prompt, iterations=[]),
        )
        store = cls(run_dir, journal, lock)
        try:
            for number, reference in enumerate(references, start=1):
                store.save_reference(number, reference)
            store.write_snapshot(store.snapshot(store.journal.result))
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open(cls, run_dir: Path) -> RunStore:
        """An existing run folder, to resume it: checked, locked (RunFolderBusy when another
        process writes it), re-read under the lock, and cleared of a killed write's temp files.
        A journal this version cannot read (damaged, newer) is refused before anything is
        written, the lock file included."""
        load_journal(run_dir)
        run_dir = run_dir.resolve()
        lock = FolderLock(run_dir)
        try:
            journal = load_journal(run_dir)
            remove_leftovers(run_dir)
        except BaseException:
            lock.release()
            raise
        return cls(run_dir, journal, lock)

    def close(self) -> None:
        """Release the folder for the next writer. Safe to call twice."""
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def save_reference(self, number: int, reference: ReferenceImage) -> StoredReference:
        folder = self.run_dir / "references"
        folder.mkdir(exist_ok=True)
        extension = _EXTENSIONS.get(reference.mime_type, "img")
        path = folder / f"ref-{number:02d}.{extension}"
        atomic_write(path, reference.data, self.file_mode)
        stored = StoredReference(
            source=reference.source, path=str(path), width=reference.width, height=reference.height
        )
        self.journal.references.append(stored)
        return stored

    def image_path(self, index: int, output_format: OutputFormat) -> Path:
        return self.run_dir / "images" / f"iter-{index:02d}.{output_format.extension}"

    def save_image(self, index: int, image: GeneratedImage, durable: bool = True) -> Path:
        """``durable=False``: in place for every process now; fsynced by the JournalWriter
        before the journal that lists it (``submit(..., durable=[path])``)."""
        path = self.image_path(index, image.output_format)
        atomic_write(path, image.data, self.file_mode, durable=durable)
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
        """The journal as bytes, paths inside the folder relative to it. Taken on the event
        loop, so concurrent candidates never change the result while it is being serialised;
        written later in a thread."""
        self.journal.result = result
        self.journal.status = status
        self.journal.updated_at = _now()
        on_disk = for_disk(self.journal, self.run_dir)
        try:
            return on_disk.model_dump_json(indent=2).encode("utf-8")
        except PydanticSerializationError:
            # A lone surrogate (a non-UTF-8 byte in a prompt or file name) has no UTF-8 form;
            # JSON's \udcxx escape keeps it, and the journal stays readable.
            dump = on_disk.model_dump(mode="json")
            return json.dumps(dump, indent=2, ensure_ascii=True).encode("ascii")

    def write_snapshot(self, data: bytes) -> None:
        atomic_write(self.run_dir / JOURNAL_NAME, data, self.file_mode)


class JournalWriter:
    """Writes journal snapshots off the critical path: one write at a time, newest wins.

    Snapshots are taken (and images saved) before ``submit``, so the file on disk is always a
    consistent, possibly one step older, state; ``flush`` waits for the newest to land. Files
    a snapshot names that were saved without their fsync (``durable``) are made durable first,
    so the journal never lists a file a power cut could take back.
    """

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._pending: bytes | None = None
        self._unsynced: list[Path] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, data: bytes, durable: Sequence[Path] = ()) -> None:
        if self._task is not None and self._task.done():
            self._task.result()  # a failed write (StorageError) surfaces here
        self._pending = data
        self._unsynced += durable
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending is not None:
            data, self._pending = self._pending, None
            files, self._unsynced = self._unsynced, []
            await asyncio.to_thread(self._write, data, files)

    def _write(self, data: bytes, files: list[Path]) -> None:
        if files:
            make_durable(files)
        self._store.write_snapshot(data)

    async def flush(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._task is not None:
            self._task.result()


def read_back(iteration: Iteration) -> GeneratedImage:
    """An image saved before a crash (or for a tie-break), read back to be evaluated."""
    data, decoded = _whole_image(iteration)
    return GeneratedImage(
        data=data,
        output_format=iteration.output_format,
        width=iteration.width,
        height=iteration.height,
        context=iteration.context,
        revised_prompt=iteration.revised_prompt,
        pixels=decoded.pixels,
    )


def _whole_image(iteration: Iteration) -> tuple[bytes, Decoded]:
    """The image file of ``iteration``, decoded whole; a file deleted, emptied or cut short
    since is one line naming it (StorageError), never a traceback or a stale result."""
    from agentic_image_gen.inputs.imaging import NotAnImage, decode_image  # Pillow: not for --help

    try:
        data = Path(iteration.image_path).read_bytes()
        return data, decode_image(data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
    except NotAnImage as exc:
        reason = str(exc)
    raise StorageError(
        f"{iteration.image_path}, a file of the run folder, is missing or damaged ({reason})"
    )


def check_images(iterations: Sequence[Iteration]) -> None:
    """Before a resume works from them: every image the journal names is there and whole."""
    for iteration in iterations:
        _whole_image(iteration)
