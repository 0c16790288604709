"""One retry policy for every provider call: backoff with jitter, Retry-After, a per-call
deadline and a per-run retry budget.

The openai SDK retries on its own, but per attempt and without a budget: a flaky API could then
stretch one run for hours. Providers set the SDK's ``max_retries=0`` and call through here.
A run that shares a limiter with other runs (core/limits.py) takes a slot from it for every
attempt, and a Retry-After it meets slows every run on that provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from agentic_image_gen.core.limits import Limiter

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 120.0


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked to wait (``retry-after-ms``, ``retry-after``), if any.

    ``headers`` is an httpx-style case-insensitive mapping.
    """
    if headers is None:
        return None
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class Attempt:
    """What went wrong with one try, as the policy needs it."""

    transient: bool
    retry_after: float | None = None


@dataclass
class RetryPolicy:
    """Shared by every call of one run; ``budget`` counts retries across the whole run."""

    budget: int = 8
    call_deadline: float = 600.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    retries_used: int = 0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    limiter: Limiter | None = None  # shared with other runs (a catalog's); None: the run's own

    def backoff(self, attempt_number: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        delay: float = min(self.base_delay * 2.0**attempt_number, self.max_delay)
        return delay * (1 - 0.25 * random.random())

    async def call(
        self,
        make_call: Callable[[float], Awaitable[T]],
        classify: Callable[[Exception], Attempt | None],
        provider: str = "",
    ) -> T:
        """Run ``make_call(timeout)`` until it succeeds, a permanent error, the deadline, or
        the run's budget. ``classify`` says whether an exception is worth another try (None:
        not ours, re-raise). ``provider`` names whose rate limit a shared limiter applies."""
        deadline = time.monotonic() + self.call_deadline
        attempt_number = 0
        while True:
            try:
                return await self._attempt(make_call, deadline, provider)
            except Exception as exc:
                verdict = classify(exc)
                asked = verdict.retry_after if verdict is not None else None
                if asked is not None and self.limiter is not None:
                    # Every run on this provider waits, not only this one (even if it gives up).
                    await self.limiter.slow_down(provider, min(asked, MAX_RETRY_AFTER))
                if verdict is None or not verdict.transient or self.retries_used >= self.budget:
                    raise
                after = verdict.retry_after
                if after is not None and (
                    after > MAX_RETRY_AFTER or time.monotonic() + after >= deadline
                ):
                    # Like the SDK: a server that asks for a longer wait than the call may
                    # take is answered now, not after a wait that would end in failure anyway.
                    exc.add_note(f"the server asked to wait {after:g} s, longer than this call may")
                    raise
                delay = self.backoff(attempt_number, after)
                if time.monotonic() + delay >= deadline:
                    raise
                self.retries_used += 1
                attempt_number += 1
                await self.sleep(delay)

    async def _attempt(
        self, make_call: Callable[[float], Awaitable[T]], deadline: float, provider: str
    ) -> T:
        async with self.slot(provider):
            return await make_call(max(deadline - time.monotonic(), 1.0))

    @contextlib.asynccontextmanager
    async def slot(self, provider: str) -> AsyncIterator[None]:
        """One call's turn under a shared limiter (at once without one); also for calls made
        once, outside ``call`` (a best-effort clean-up still counts against a rate)."""
        if self.limiter is None:
            yield
            return
        await self.limiter.acquire(provider)
        try:
            yield
        finally:
            await self.limiter.release(provider)
