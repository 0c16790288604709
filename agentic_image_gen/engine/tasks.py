"""Small helpers for the loop's side tasks and the exception groups TaskGroup raises."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from agentic_image_gen.core.errors import AigError


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


def cause_of(caught: BaseException) -> BaseException:
    """What ended a run: the first of our own errors among a group's leaves (a provider's
    failure explains more than a bug it set off), else the first leaf."""
    if not isinstance(caught, BaseExceptionGroup):
        return caught
    ours = caught.subgroup(lambda exc: isinstance(exc, AigError))
    return first_leaf(ours if ours is not None else caught)


@dataclass(frozen=True)
class Slot:
    """An image being made: its place before it has an Iteration."""

    index: int
    round: int
    candidate: int
