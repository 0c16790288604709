"""One signal policy for the whole process: Ctrl-C, SIGTERM and SIGHUP never print a traceback.

The first signal stops what is going on the way a user expects: before the event loop (or in a
subcommand that blocks), at once, as the one-line error ``interrupted`` (with ``--json-errors``,
its JSON); during a run, by cancelling it, so it journals itself and the partial result is
printed; once a run has ended, not at all (its JSON is being printed). A second signal is
noted and otherwise ignored, so a double Ctrl-C cannot cut that work short. A third signal, or
a SIGTERM after any signal, ends the process at once (exit 128 + the signal).

Python's own SIGINT handler would raise KeyboardInterrupt wherever the second Ctrl-C lands
(asyncio's runner does so on purpose), even inside the code that prints the result.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from agentic_image_gen.core.errors import AigError

if TYPE_CHECKING:  # loaded once a command needs its loop, after the handlers are in place
    import asyncio

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
FORCE_AFTER = 3  # signals: the third ends the process at once


class Stopped(AigError):
    """A signal ended the process before any run started: nothing to keep."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted ({signal.Signals(signum).name})")
        self.exit_code = 128 + signum


class Signals:
    """The process's signal handlers while a command runs (``install``, then ``restore``)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._raising = True  # no loop to cancel: a first signal raises Stopped
        self._target: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Any] = {}
        self._previous_hook = sys.unraisablehook
        # A Stopped raised where Python cannot pass it on (a weakref callback inside an
        # import): it is kept quiet there and raised again when ``raising`` ends.
        self._swallowed = False

    def install(self) -> Signals:
        for signum in HANDLED:
            with contextlib.suppress(ValueError, OSError):  # not the main thread: leave them
                self._previous[signum] = signal.signal(signum, self._on_signal)
        self._previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = self._previous_hook

    def _unraisable(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, Stopped):
            self._swallowed = True
            return
        self._previous_hook(unraisable)

    def ignore(self) -> None:
        """Signals from now on change nothing: the process is exiting (Python would restore
        the default action while it finalizes, and a late Ctrl-C would end it by the signal
        instead of the exit code it has)."""
        for signum in self._previous:
            signal.signal(signum, signal.SIG_IGN)

    @property
    def first(self) -> int | None:
        return self.received[0] if self.received else None

    def cancel(self, task: asyncio.Task[Any] | None) -> None:
        """From now on a first signal cancels ``task`` (None: it does nothing, the work is
        finishing)."""
        self._raising = False
        self._target = task
        self._loop = task.get_loop() if task is not None else None
        if task is not None and self.received:  # it came before the task did
            task.cancel()

    @contextlib.contextmanager
    def raising(self) -> Iterator[None]:
        """A first signal raises Stopped where the code is (code that awaits nothing)."""
        was, self._raising = self._raising, True
        try:
            if self.received:
                raise Stopped(self.received[0])
            yield
            if self._swallowed:
                raise Stopped(self.received[0])
        except Stopped:
            raise
        except BaseException as broken:
            # A Stopped raised inside an import that a compiled extension makes itself
            # comes out as another error (pyo3 turns it into a PanicException): once a
            # signal has come, whatever broke is that signal.
            if self.received:
                raise Stopped(self.received[0]) from broken
            raise
        finally:
            self._raising = was

    def quiet(self) -> None:
        """Signals from now on are only noted (the error is being reported)."""
        self._raising = False
        self._target = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        count = len(self.received)
        if count >= FORCE_AFTER or (count > 1 and signum == signal.SIGTERM):
            name = signal.Signals(signum).name
            os.write(2, f"agentic-image-gen: stopped at once ({name})\n".encode())
            os._exit(128 + signum)
        if count > 1:
            os.write(2, b"agentic-image-gen: still stopping (a third signal ends it at once)\n")
            return
        if self._raising:
            raise Stopped(signum)
        target, loop = self._target, self._loop
        if target is not None and loop is not None and not target.done():
            loop.call_soon_threadsafe(target.cancel)
