"""The catalog on a Ray cluster (``batch --engine ray``): each product's loop runs in a worker
actor that keeps one Session for its life (shared clients and models, as in one process);
one limiter actor holds the rate limits and the catalog's budget for every worker, so a 429
slows every worker on that provider and the budget is the catalog's.

The batch process keeps the state file, the catalog files and the progress bar, exactly as
with the local runner. Without an address a local cluster is started for the batch and
stopped after it; with one (``auto``, ``HOST:PORT``, ``ray://HOST:10001``) the batch attaches
and leaves it running. A worker that dies mid-product (its node lost) leaves the run folder
journaled as far as it got; the product is resumed from it on another worker.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentic_image_gen.core.errors import ConfigurationError
from agentic_image_gen.engine.runs import JOURNAL_NAME
from agentic_image_gen.frontends.batch.work import Job, Notify, Outcome, Progress

# How often a product is moved to another worker when its worker dies before giving up.
MAX_WORKER_LOSSES = 2


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError(
            "--engine ray needs the ray extra: pip install 'agentic-image-gen[ray]'"
        ) from exc
    return ray


class LimiterActor:
    """The one limiter of the catalog, as an async actor every worker calls."""

    def __init__(self, max_cost: float | None, rates: dict[str, float], in_flight: int | None):
        from agentic_image_gen.engine.limits import SharedLimiter

        self.limiter = SharedLimiter(max_cost=max_cost, rates=rates, max_in_flight=in_flight)

    async def acquire(self, provider: str) -> None:
        await self.limiter.acquire(provider)

    async def release(self, provider: str) -> None:
        await self.limiter.release(provider)

    async def slow_down(self, provider: str, seconds: float) -> None:
        await self.limiter.slow_down(provider, seconds)

    async def reserve(self, key: str, estimate: float) -> bool:
        return await self.limiter.reserve(key, estimate)

    async def settle(self, key: str, spent: float) -> None:
        await self.limiter.settle(key, spent)

    def max_cost(self) -> float | None:
        return self.limiter.max_cost


class ActorLimiter:
    """One run's view of the limiter actor (core/limits.py's Limiter), in a worker."""

    def __init__(self, actor: Any, key: str, max_cost: float | None) -> None:
        self._actor, self._key, self._max_cost = actor, key, max_cost

    @property
    def max_cost(self) -> float | None:
        return self._max_cost

    async def acquire(self, provider: str) -> None:
        await self._actor.acquire.remote(provider)

    async def release(self, provider: str) -> None:
        await self._actor.release.remote(provider)

    async def slow_down(self, provider: str, seconds: float) -> None:
        await self._actor.slow_down.remote(provider, seconds)

    async def reserve(self, estimate: float) -> bool:
        reserved: bool = await self._actor.reserve.remote(self._key, estimate)
        return reserved

    async def settle(self, spent: float) -> None:
        await self._actor.settle.remote(self._key, spent)


class ProductWorker:
    """A worker process's one Session, running one product at a time."""

    def __init__(self, limiter: Any, max_cost: float | None) -> None:
        from agentic_image_gen.engine.session import Session

        self.session = Session()
        self.limiter, self.max_cost = limiter, max_cost

    async def run(self, job: Job) -> AsyncIterator[Progress | Outcome]:
        """The product's progress as it happens (a Ray streaming generator: the batch process
        keeps its state file and progress bar up to date), then its outcome."""
        from agentic_image_gen.frontends.batch.work import run_product

        view = ActorLimiter(self.limiter, job.key, self.max_cost)
        progress: asyncio.Queue[Progress | None] = asyncio.Queue()
        task = asyncio.ensure_future(run_product(self.session, job, view, progress.put_nowait))
        task.add_done_callback(lambda _: progress.put_nowait(None))
        try:
            while (step := await progress.get()) is not None:
                yield step
            yield await task
        finally:
            task.cancel()  # the batch process went away mid-product: journaled interrupted

    def ready(self) -> bool:
        return True


class RayRunner:
    """The batch's Runner on a Ray cluster (frontends/batch/runner.py's Protocol)."""

    def __init__(
        self,
        *,
        address: str | None,
        workers: int,
        max_cost: float | None,
        rates: dict[str, float],
        max_in_flight: int | None,
    ) -> None:
        self.address, self.workers = address, workers
        self.max_cost, self.rates, self.max_in_flight = max_cost, rates, max_in_flight
        self._connected = False  # this process attached (or started a cluster) for the batch
        self._limiter: Any = None
        self._idle: asyncio.Queue[Any] = asyncio.Queue()
        self.busy: dict[str, Any] = {}  # product id -> the worker running it now
        self.losses = 0  # workers lost mid-product (each product resumed on another)

    async def start(self) -> None:
        ray = _ray()
        if not ray.is_initialized():
            try:
                # In the main thread (Ray installs its signal handlers there); a few seconds
                # before anything else of the batch runs.
                ray.init(
                    # "local": a new cluster for the batch, never one found on this machine
                    # (Ray's default would attach to the last one started here, even a dead one)
                    address=self.address or "local",
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                hint = token_hint(self.address, os.environ)
                raise ConfigurationError(f"--ray-address {self.address}: {exc}{hint}") from exc
            self._connected = True
        limiter = ray.remote(LimiterActor).options(num_cpus=0, max_concurrency=1000)
        self._limiter = limiter.remote(self.max_cost, self.rates, self.max_in_flight)
        for _ in range(self.workers):
            await self._idle.put(self._new_worker())

    def _new_worker(self) -> Any:
        worker = _ray().remote(ProductWorker).options(num_cpus=0, max_concurrency=2)
        return worker.remote(self._limiter, self.max_cost)

    async def stop(self) -> None:
        """Leaves the process as the batch found it: a cluster started for the batch stops,
        an attached one stays up (only this process's connection ends, with its actors)."""
        ray = _ray()
        if self._connected and ray.is_initialized():
            await asyncio.to_thread(ray.shutdown)
            self._connected = False

    async def seed(self, key: str, spent: float) -> None:
        await self._limiter.settle.remote(key, spent)

    async def run(self, job: Job, notify: Notify) -> Outcome:
        ray = _ray()
        losses = 0
        while True:
            worker = await self._idle.get()
            self.busy[job.product_id] = worker
            try:
                outcome = await _followed(worker.run.options(num_returns="streaming"), job, notify)
            except ray.exceptions.RayActorError as lost:  # the worker (or its node) died
                self._idle.put_nowait(self._new_worker())
                losses += 1
                self.losses += 1
                folder = _latest_run(job)
                if losses > MAX_WORKER_LOSSES:
                    return Outcome(job.product_id, "failed", error=f"worker lost: {lost}")
                print(
                    f"agentic-image-gen batch: {job.product_id}: its worker was lost; "
                    "resumed on another",
                    file=sys.stderr,
                    flush=True,
                )
                job = replace(job, resume=folder) if folder is not None else job
                continue
            finally:
                self.busy.pop(job.product_id, None)
            self._idle.put_nowait(worker)
            return outcome


async def _followed(method: Any, job: Job, notify: Notify) -> Outcome:
    """A worker's streamed run: each progress passed on as it comes, the outcome returned."""
    async for reference in method.remote(job):
        item = await reference
        if isinstance(item, Outcome):
            return item
        notify(item)
    raise RuntimeError(f"{job.product_id}: its worker ended without an outcome")


def token_hint(address: str | None, env: Mapping[str, str]) -> str:
    """Ray attaches to a cluster named by its address without its token unless told to: the
    likeliest cause of a refused connection, said in the error."""
    if address in (None, "auto") or "RAY_AUTH_MODE" in env:
        return ""
    return (
        " (a cluster that asks for a token needs RAY_AUTH_MODE=token and its token in "
        "RAY_AUTH_TOKEN or ~/.ray/auth_token)"
    )


def _latest_run(job: Job) -> str | None:
    """The run folder a lost worker left for ``job`` (the product's own folder holds one)."""
    if job.resume is not None:
        return job.resume
    parent = Path(job.config.out_dir)
    runs = sorted(p for p in parent.glob("*") if (p / JOURNAL_NAME).is_file())
    return str(runs[-1]) if runs else None
