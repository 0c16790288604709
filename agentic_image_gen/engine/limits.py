"""One limiter many runs call through in one process: provider calls in flight, each
provider's request rate, the pauses a 429 asks for, and one budget that every round reserves
from (core/limits.py says what a run expects of it).

``limiter = SharedLimiter(max_cost=5.0, rates={"openai": 60}, max_in_flight=8)``; each run gets
its own view, ``limiter.for_run(key)``, and ``Session.run(config, limiter=view)``. The key
names what the run's spending belongs to (a catalog's product), so a process started again can
say what was spent before (``settle(key, spent)``) and a resumed run's own total replaces it.

A round's reservation is the larger of what the run expects it to cost and the most any round
of any run has cost so far. Before any priced round has ended the limiter knows only the price
of a round's images (not what judging them costs), so until then one priced round goes at a
time: the others wait for it, and from then on reserve what rounds really cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from agentic_image_gen.core.limits import Limiter

# Amounts within this of the limit fit (sums of float costs are not exact).
_CENT_FRACTION = 1e-9


@dataclass
class CallStats:
    """What the limiter saw of one provider's calls (for a progress line or a bench)."""

    calls: int = 0
    waited_seconds: float = 0.0  # spent waiting for a slot, a rate or a pause
    pauses: int = 0  # 429s that slowed every caller


@dataclass
class SharedLimiter:
    """Rates in requests per minute by provider name; ``max_in_flight`` caps the calls in
    flight to every provider together; ``max_cost`` (USD) is the budget of every run."""

    max_cost: float | None = None
    rates: Mapping[str, float] = field(default_factory=dict)
    max_in_flight: int | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    stats: dict[str, CallStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, rate in self.rates.items():
            if not rate > 0:
                raise ValueError(f"the rate of {name!r} must be above 0 requests per minute")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._slots = asyncio.Semaphore(self.max_in_flight) if self.max_in_flight else None
        self._next_start: dict[str, float] = {}  # per provider: when the next call may start
        self._paused_until: dict[str, float] = {}
        self._spent: dict[str, float] = {}  # per run key, in all
        self._reserved: dict[str, float] = {}  # per run key: its round under way
        self._spent_at_reserve: dict[str, float] = {}
        self.round_cost = 0.0  # the most one round has cost so far
        self._learned = False  # a round that cost something has ended
        self._settled = asyncio.Condition()

    def for_run(self, key: str) -> RunLimiter:
        """The view one run calls through; ``key`` names what its spending belongs to."""
        return RunLimiter(self, key)

    # ---- calls ----------------------------------------------------------------------------

    async def acquire(self, provider: str) -> None:
        started = self.clock()
        if self._slots is not None:
            await self._slots.acquire()
        try:
            await self._wait_turn(provider)
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise
        stats = self.stats.setdefault(provider, CallStats())
        stats.calls += 1
        stats.waited_seconds += self.clock() - started

    async def _wait_turn(self, provider: str) -> None:
        """Wait out a pause, then take the next start time the provider's rate allows (calls
        evenly spaced, no burst); a pause that began meanwhile is waited out too."""
        rate = self.rates.get(provider)
        while True:
            now = self.clock()
            paused = self._paused_until.get(provider, 0.0)
            if paused > now:
                await self.sleep(paused - now)
                continue
            start = max(now, self._next_start.get(provider, now))
            if rate is not None:
                self._next_start[provider] = start + 60.0 / rate
            if start > now:
                await self.sleep(start - now)
            if self._paused_until.get(provider, 0.0) <= self.clock():
                return

    async def release(self, provider: str) -> None:
        if self._slots is not None:
            self._slots.release()

    async def slow_down(self, provider: str, seconds: float) -> None:
        until = self.clock() + max(0.0, seconds)
        if until > self._paused_until.get(provider, 0.0):
            self._paused_until[provider] = until
            self.stats.setdefault(provider, CallStats()).pauses += 1

    # ---- the budget -----------------------------------------------------------------------

    @property
    def spent(self) -> float:
        return sum(self._spent.values())

    @property
    def committed(self) -> float:
        """Spent, plus what the rounds under way have reserved."""
        return self.spent + sum(self._reserved.values())

    async def reserve(self, key: str, estimate: float) -> bool:
        if self.max_cost is None:
            return True
        self._reserved.pop(key, None)  # a run's next round replaces its last reservation
        if estimate > 0:  # priced: wait until a round's real cost is known, or none is out
            async with self._settled:
                await self._settled.wait_for(lambda: self._learned or not self._reserved)
        amount = max(estimate, self.round_cost)
        if self.committed + amount > self.max_cost * (1 + _CENT_FRACTION):
            return False
        self._reserved[key] = amount
        self._spent_at_reserve[key] = self._spent.get(key, 0.0)
        return True

    async def settle(self, key: str, spent: float) -> None:
        before = self._spent_at_reserve.pop(key, None)
        if before is not None:
            self.round_cost = max(self.round_cost, spent - before)
            self._learned = self._learned or spent > before
        self._reserved.pop(key, None)
        self._spent[key] = spent
        async with self._settled:
            self._settled.notify_all()


@dataclass(frozen=True)
class RunLimiter:
    """One run's view of a SharedLimiter (the core Limiter Protocol)."""

    shared: SharedLimiter
    key: str

    @property
    def max_cost(self) -> float | None:
        return self.shared.max_cost

    async def acquire(self, provider: str) -> None:
        await self.shared.acquire(provider)

    async def release(self, provider: str) -> None:
        await self.shared.release(provider)

    async def slow_down(self, provider: str, seconds: float) -> None:
        await self.shared.slow_down(provider, seconds)

    async def reserve(self, estimate: float) -> bool:
        return await self.shared.reserve(self.key, estimate)

    async def settle(self, spent: float) -> None:
        await self.shared.settle(self.key, spent)


def _conforms(view: RunLimiter) -> Limiter:
    return view  # mypy checks that RunLimiter is a Limiter
