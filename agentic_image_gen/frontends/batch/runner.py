"""Where products' loops run. The batch process keeps the state file, the catalog files and
the progress bar; a runner only runs jobs and says how they went, every run calling through
one limiter (the rate limits and the catalog's budget).

``LocalRunner`` runs them here, on this process's event loop, in one Session (shared clients
and models). A runner for a cluster fits the same Protocol: a worker per process with its own
Session, and the limiter an actor every worker calls.
"""

from __future__ import annotations

from typing import Protocol

from agentic_image_gen.engine.limits import SharedLimiter
from agentic_image_gen.engine.session import Session
from agentic_image_gen.frontends.batch.work import Job, Notify, Outcome, run_product


class Runner(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def seed(self, key: str, spent: float) -> None:
        """What was spent under ``key`` before this batch: counted against the budget."""
        ...

    async def run(self, job: Job, notify: Notify) -> Outcome:
        """One product's work; ``notify`` hears of its progress (in the batch process)."""
        ...


class LocalRunner:
    """Every product's loop on this event loop, in one Session."""

    def __init__(self, limiter: SharedLimiter) -> None:
        self.limiter = limiter
        self._session: Session | None = None

    async def start(self) -> None:
        self._session = Session()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.aclose()

    async def seed(self, key: str, spent: float) -> None:
        await self.limiter.settle(key, spent)

    async def run(self, job: Job, notify: Notify) -> Outcome:
        if self._session is None:
            raise RuntimeError("start the runner first")
        return await run_product(self._session, job, self.limiter.for_run(job.key), notify)
