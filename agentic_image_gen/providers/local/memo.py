"""Work on a reference photo, done once: per run, a task every component of the run shares;
once finished, a value the whole process keeps while it has room.

The web app, the MCP server, a catalog and a resumed run cut the same photo again and again,
and the cut (with what the checks measure on the photo) is most of a small run's time. The
values are made read-only when they are kept, so no reader can change another run's cut.
Failures are not kept: the next run tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from cachetools import LRUCache

T = TypeVar("T")

# What the process keeps, in bytes of array data: about four cuts of 12 MP photos, dozens of
# 2 MP shop photos; the least recently used goes first.
PROCESS_BYTES = 256 * 2**20
OVERHEAD = 1024  # bytes counted for a value besides its arrays: none is free (a Junk has none)


def _cost(value: Any) -> int:
    return OVERHEAD + sum(array.nbytes for array in _arrays(value))


def _arrays(value: Any) -> list[np.ndarray[Any, Any]]:
    """The numpy arrays a value holds (in tuples, lists, dicts and dataclasses)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, tuple | list):
        return [array for item in value for array in _arrays(item)]
    if isinstance(value, dict):
        return [array for item in value.values() for array in _arrays(item)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = (getattr(value, field.name) for field in dataclasses.fields(value))
        return [array for item in fields for array in _arrays(item)]
    return []


class Kept:
    """The process's finished values by array bytes, least recently used first (cachetools'
    LRU cache under a lock: threads and event loops share it); a value larger than the
    whole limit is not kept."""

    def __init__(self, limit: int) -> None:
        self._values: LRUCache[tuple[str, str], Any] = LRUCache(limit, getsizeof=_cost)
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Any | None:
        with self._lock:
            return self._values.get(key)

    def put(self, key: tuple[str, str], value: Any) -> None:
        with self._lock, contextlib.suppress(ValueError):  # too large to keep
            self._values[key] = value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


KEPT = Kept(PROCESS_BYTES)


async def once(run_cache: dict[str, Any], space: str, key: str, work: Callable[[], T]) -> T:
    """``work()``'s value for ``key`` in ``space`` (a name of its own per kind of work): made
    once per run, in a worker thread, whoever asks first, and taken from the process's values
    when it is there."""
    tasks: dict[str, asyncio.Task[Any]] = run_cache.setdefault(space, {})
    task = tasks.get(key)
    if task is None:
        task = asyncio.ensure_future(_made(space, key, work))
        tasks[key] = task
    return cast(T, await asyncio.shield(task))


async def _made(space: str, key: str, work: Callable[[], T]) -> T:
    kept = KEPT.get((space, key))
    if kept is not None:
        return cast(T, kept)
    value = _frozen(await asyncio.to_thread(work))
    KEPT.put((space, key), value)
    return value


def _frozen(value: T) -> T:
    for array in _arrays(value):
        array.flags.writeable = False
    return value
