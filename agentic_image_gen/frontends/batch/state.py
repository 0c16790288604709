"""The batch's state: ``DIR/catalog.sqlite``, one row per product, written only by the batch
process, and the lock that keeps a second batch out of the same folder.

A product is ``pending`` (not started, stopped, or held back by the budget), ``running``,
``done`` or ``failed``. A product found ``running`` when a batch starts was running when its
batch died (killed): its run folder's journal says where to go on. The lock is an advisory
``flock`` on ``DIR/catalog.lock``, dropped by the kernel however its process ends.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from agentic_image_gen.core.errors import StorageError
from agentic_image_gen.engine.runs import FolderLock

Status = Literal["pending", "running", "done", "failed"]
STATUSES: tuple[Status, ...] = ("pending", "running", "done", "failed")
STATE_NAME = "catalog.sqlite"
LOCK_NAME = "catalog.lock"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    row INTEGER NOT NULL,
    folder TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ({", ".join(f"'{s}'" for s in STATUSES)})),
    run_dir TEXT,
    score INTEGER,
    compliant INTEGER,
    cost_usd REAL NOT NULL DEFAULT 0,
    error TEXT,
    best_image TEXT,
    delivery TEXT,
    url TEXT,
    report TEXT,
    updated_at TEXT NOT NULL
)
"""


@dataclass
class Record:
    """One product's row."""

    id: str
    row: int
    folder: str
    title: str = ""
    status: Status = "pending"
    run_dir: str | None = None
    score: int | None = None
    compliant: bool | None = None
    cost_usd: float = 0.0
    error: str | None = None
    best_image: str | None = None
    delivery: str | None = None
    url: str | None = None
    report: str | None = None


_COLUMNS = tuple(f.name for f in fields(Record))


class State:
    """The open state of one batch folder; the lock is held until ``close``."""

    def __init__(self, out_dir: Path) -> None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
        self.out_dir = out_dir.resolve()
        # One batch per folder (exit 7 names the other's pid), as one writer per run folder.
        self._lock = FolderLock(self.out_dir, LOCK_NAME, user="batch")
        try:
            self._db = sqlite3.connect(self.out_dir / STATE_NAME, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")  # a killed batch loses no committed row
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            self.close()
            raise StorageError(f"{self.out_dir / STATE_NAME}: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(AttributeError, sqlite3.Error):
            self._db.close()
        self._lock.release()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def records(self) -> dict[str, Record]:
        cursor = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM products")
        found = {}
        for values in cursor.fetchall():
            record = Record(**dict(zip(_COLUMNS, values, strict=True)))
            record.compliant = None if record.compliant is None else bool(record.compliant)
            found[record.id] = record
        return found

    def add(self, records: Iterable[Record]) -> None:
        """New products (pending); a known one keeps its state (its row may move)."""
        rows = [(r.id, r.row, r.folder, r.title, _now()) for r in records]
        try:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO products (id, row, folder, title, status, updated_at) "
                "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (id) DO UPDATE SET "
                "row = excluded.row, title = excluded.title",
                rows,
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"{self.out_dir / STATE_NAME}: {exc}") from exc

    def update(self, product_id: str, **changes: Any) -> None:
        unknown = set(changes) - set(_COLUMNS)
        if unknown or "id" in changes:
            raise ValueError(f"not state columns: {sorted(unknown | ({'id'} & set(changes)))}")
        names = [*changes, "updated_at"]
        values = [*changes.values(), _now(), product_id]
        assignments = ", ".join(f"{name} = ?" for name in names)
        try:
            self._db.execute(f"UPDATE products SET {assignments} WHERE id = ?", values)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.out_dir / STATE_NAME}: {exc}") from exc

    def save(self, record: Record) -> None:
        values = asdict(record)
        values.pop("id")
        self.update(record.id, **values)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
