"""Small helpers for the loop's side tasks and the exception groups TaskGroup raises."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass


async def stop(task: asyncio.Task[None] | None) -> None:
    """A run that ends early must not leave side work running or its error unread."""
    if task is None:
        return
    if not task.done():
        task.cancel()
    with contextlib.suppress(BaseException):
        await task


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf of an exception group (TaskGroup wraps what candidates raise)."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


@dataclass(frozen=True)
class Slot:
    """An image being made: its place before it has an Iteration."""

    index: int
    round: int
    candidate: int
