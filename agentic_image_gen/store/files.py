"""Files in a run folder: atomic writes with the user's permissions, and leftovers removed.

``tempfile.mkstemp`` creates files 0600 whatever the umask, which made every image and journal
private to its owner even where the user's umask shares them (a team's run folders, a web
server serving the images). Each write is therefore given ``0o666 & ~umask`` before the rename,
exactly what a plain ``open()`` would have given it.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from agentic_image_gen.core.errors import StorageError

# What mkstemp(prefix=".<name>.") leaves when the process dies between create and rename:
# ".run.json.k3j_x9", ".iter-02.png.abc123", ".ref-01.jpg.q1w2e3", ".report.html.zz9_a1".
_LEFTOVER = re.compile(r"^\.(run\.json|report\.html|(iter|ref)-\d+\.[a-z]+)\.[A-Za-z0-9_]+$")
_LEFTOVER_FOLDERS = ("", "images", "references")
_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the kernel says (Linux 4.7+);
    elsewhere set and restored at once under a lock (os.umask has no read-only form)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask & 0o777


def file_mode(umask: int | None = None) -> int:
    """The mode a new file gets from ``open()``: 0o666 less the umask."""
    return 0o666 & ~(current_umask() if umask is None else umask)


def atomic_write(path: Path, data: bytes, mode: int | None = None, durable: bool = True) -> None:
    """Write to a temp file beside ``path``, fsync, give it ``mode`` (default: what the umask
    allows), then rename over it, and fsync the folder so the rename itself survives a crash.
    ``durable=False`` leaves both fsyncs to a later ``make_durable``: the file is whole and in
    place for every process at once (a killed process loses nothing), not yet across a power
    cut."""
    mode = file_mode() if mode is None else mode
    try:
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fchmod(temp.fileno(), mode)
                if durable:
                    os.fsync(temp.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        if durable:
            _sync_folder(path.parent)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def make_durable(paths: Sequence[Path]) -> None:
    """fsync files written with ``durable=False``, then their folders (their names)."""
    try:
        for path in paths:
            with path.open("rb") as file:
                os.fsync(file.fileno())
        for folder in dict.fromkeys(path.parent for path in paths):
            _sync_folder(folder)
    except OSError as exc:
        raise StorageError(f"cannot write {exc.filename}: {exc.strerror or exc}") from exc


def _sync_folder(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Delete the temp files of writes a killed process never finished; return them.

    Only the folder's lock holder may call this: a live writer's temp file looks the same.
    """
    removed = []
    for name in _LEFTOVER_FOLDERS:
        folder = run_dir / name if name else run_dir
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if _LEFTOVER.match(entry.name) and entry.is_file():
                try:
                    entry.unlink()
                except OSError:
                    continue
                removed.append(entry)
    return removed
