"""What a run shares with other runs when it is one of many (a catalog): one limiter for its
provider calls and its budget.

A run alone needs none of this: its ``--max-cost`` and its retry policy are its own. Runs
handed one limiter (``Session.run(config, limiter=...)``) call through it: every provider call
waits for a slot (the calls in flight, each provider's rate, a pause a 429 asked for), and every
round reserves its cost from one budget before it starts. The engine's ``SharedLimiter``
(engine/limits.py) is one in-process implementation; an actor on a cluster can be another, so
every method is async.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Limiter(Protocol):
    """One run's view of what it shares with other runs."""

    @property
    def max_cost(self) -> float | None:
        """The shared budget in US dollars (None: only rates and calls are limited)."""
        ...

    async def acquire(self, provider: str) -> None:
        """Wait until a call to ``provider`` may start (call ``release`` when it ends)."""
        ...

    async def release(self, provider: str) -> None: ...

    async def slow_down(self, provider: str, seconds: float) -> None:
        """``provider`` asked to wait (a 429's Retry-After): no run calls it before then."""
        ...

    async def reserve(self, estimate: float) -> bool:
        """Reserve this run's next round (at least ``estimate`` USD) from the budget; False
        when the budget cannot pay for it now (the round must not start)."""
        ...

    async def settle(self, spent: float) -> None:
        """This run has spent ``spent`` USD in all so far; its reservation ends."""
        ...
