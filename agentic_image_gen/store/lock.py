"""One writer per run folder: an advisory ``flock`` on ``<run>/.lock``.

Two processes resuming the same folder would each append iterations and overwrite the other's
journal. ``flock`` is tied to the open file, so the kernel drops it when its holder exits in any
way (SIGKILL included): a lock can never outlive its process and block a resume. The file is
never deleted (unlinking a lock file races with a process that has just opened it); it holds
the holder's pid, for the message only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from agentic_image_gen.core.errors import RunFolderBusy, StorageError

LOCK_NAME = ".lock"


class FolderLock:
    """The exclusive, non-blocking lock of one run folder, held until ``release``."""

    def __init__(self, run_dir: Path, name: str = LOCK_NAME, user: str = "run") -> None:
        """``name``: the lock file in the folder; ``user``: who holds such a folder (said
        when it is busy: another run, another batch)."""
        self._fd: int | None = None
        path = run_dir / name
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise StorageError(f"cannot lock {run_dir}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise RunFolderBusy(
                f"{run_dir} is in use by another {user}{holder}; wait for it to finish"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StorageError(f"cannot lock {run_dir}: {exc.strerror or exc}") from exc
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the pid is only for the message; the lock itself is held

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let the next writer in. Safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the flock

    def __del__(self) -> None:  # a store dropped without close() still lets go
        with contextlib.suppress(Exception):  # at interpreter exit the kernel does it anyway
            self.release()


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {text})" if text.isdigit() else ""
