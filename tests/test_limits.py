"""One limiter many runs share (engine/limits.py): calls in flight, a provider's request rate,
the pause a Retry-After asks for (every caller waits), and one budget every round reserves
from. Times are real and small; only lower bounds are asserted (a busy machine is slower,
never faster)."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest
from scripted_providers import FromContext, scripted_session, with_scripted
from test_candidates import CountingGenerator, EchoPrompter, ScriptedEvaluator, Tracker

from agentic_image_gen import RunConfig, SharedLimiter
from agentic_image_gen.core.errors import BudgetExhausted
from agentic_image_gen.core.retry import Attempt, RetryPolicy
from agentic_image_gen.core.types import GeneratedImage, GenerationRequest, ImageSettings
from agentic_image_gen.core.usage import CallRecord
from agentic_image_gen.providers.base import ProviderContext

SLACK = 0.005  # timer granularity


def inside(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


async def test_calls_to_a_provider_are_spaced_by_its_rate_and_others_are_not() -> None:
    limiter = SharedLimiter(rates={"slow": 600})  # one call every 0.1 s
    starts: dict[str, list[float]] = {"slow": [], "free": []}
    began = time.monotonic()

    async def call(provider: str) -> None:
        await limiter.acquire(provider)
        starts[provider].append(time.monotonic() - began)
        await limiter.release(provider)

    await asyncio.gather(*(call("slow") for _ in range(4)), *(call("free") for _ in range(4)))
    slow = sorted(starts["slow"])
    # The n-th call starts no sooner than n slots after the first (a late wake-up of one
    # call may bring the next one closer to it, never before its slot).
    assert all(start >= slow[0] + n * 0.1 - SLACK for n, start in enumerate(slow)), slow
    assert max(starts["free"]) < 0.1  # a provider without a rate is not held back
    assert limiter.stats["slow"].calls == 4


async def test_a_pause_holds_every_caller_of_that_provider_even_those_already_waiting() -> None:
    limiter = SharedLimiter(rates={"api": 1200})
    began = time.monotonic()
    starts: list[float] = []

    async def call() -> None:
        await limiter.acquire("api")
        starts.append(time.monotonic() - began)
        await limiter.release("api")

    waiting = [asyncio.create_task(call()) for _ in range(3)]
    await asyncio.sleep(0)  # the first has started; the others took slots and sleep
    await limiter.slow_down("api", 0.3)  # a 429 with Retry-After: 0.3 reached one caller
    await asyncio.gather(*waiting, call())
    starts.sort()
    assert starts[0] < 0.05  # started before the 429
    assert starts[1] >= 0.3 - SLACK, starts  # the rest waited, those already waiting too
    assert all(b - a >= 0.05 - SLACK for a, b in itertools.pairwise(starts[1:]))
    assert limiter.stats["api"].pauses == 1
    await limiter.acquire("other")  # another provider is not paused
    assert time.monotonic() - began < 0.3 + 0.25


async def test_calls_in_flight_are_capped_across_providers() -> None:
    limiter = SharedLimiter(max_in_flight=2)
    now = peak = 0

    async def call(provider: str) -> None:
        nonlocal now, peak
        await limiter.acquire(provider)
        now += 1
        peak = max(peak, now)
        await asyncio.sleep(0.01)
        now -= 1
        await limiter.release(provider)

    await asyncio.gather(*(call(name) for name in ("a", "b", "c", "a", "b", "c")))
    assert peak == 2


class Throttled(Exception):
    """A 429 with Retry-After, as a provider's classify reports it."""


def _classify(error: Exception) -> Attempt | None:
    return Attempt(transient=True, retry_after=0.3) if isinstance(error, Throttled) else None


async def test_a_retry_after_met_by_one_run_slows_the_other_runs_on_that_provider() -> None:
    limiter = SharedLimiter(max_in_flight=4)
    first, second = RetryPolicy(limiter=limiter), RetryPolicy(limiter=limiter)
    began = time.monotonic()
    tries: list[float] = []

    async def throttled_once(_deadline: float) -> str:
        tries.append(time.monotonic() - began)
        if len(tries) == 1:
            raise Throttled()
        return "ok"

    async def later(_deadline: float) -> float:
        return time.monotonic() - began

    async def other_run() -> float:
        await asyncio.sleep(0.05)  # starts its call after the 429
        return await second.call(later, _classify, "api")

    result, started = await asyncio.gather(first.call(throttled_once, _classify, "api"),
                                           other_run())
    assert result == "ok" and first.retries_used == 1
    assert started >= 0.3 - SLACK  # the other run's call waited out the pause it never met
    assert tries[1] >= 0.3 - SLACK
    assert limiter.stats["api"].pauses == 1
    assert limiter._slots is not None and limiter._slots._value == 4  # every slot released


class PricedGenerator(CountingGenerator):
    """0.25 USD an image, priced ahead (CostEstimator) and recorded in the run's ledger."""

    def __init__(self, context: ProviderContext, tracker: Tracker) -> None:
        super().__init__(tracker)
        self.ledger = context.ledger

    def image_cost(self, settings: ImageSettings) -> float:
        return 0.25

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        self.ledger.record(CallRecord(action="generate", cost_usd=0.25))
        return await super().generate_image(request)


async def test_runs_sharing_a_budget_never_pass_it_and_a_run_it_cannot_pay_never_starts(
    tmp_path: Path,
) -> None:
    tracker = Tracker()
    limiter = SharedLimiter(max_cost=1.0)
    base = with_scripted(RunConfig(prompt="ring", out_dir=tmp_path, max_iterations=10))
    session = scripted_session(
        FromContext(lambda context: PricedGenerator(context, tracker)),
        FromContext(lambda context: ScriptedEvaluator(tracker, [1] * 20)),
        FromContext(lambda context: EchoPrompter()),
    )
    async with session:
        first, second = await asyncio.gather(
            session.run(base, limiter=limiter.for_run("a")),
            session.run(base, limiter=limiter.for_run("b")),
        )
        assert (first.stop_reason, second.stop_reason) == ("budget", "budget")
        spent = [sum(r.cost_usd for r in result.usage) for result in (first, second)]
        assert sum(spent) == pytest.approx(1.0)  # four images, shared: never a fifth
        assert min(spent) >= 0.25  # both started
        assert limiter.spent == pytest.approx(1.0)
        assert limiter.committed == pytest.approx(1.0)  # no reservation left behind
        folders = inside(tmp_path)
        with pytest.raises(BudgetExhausted, match="shared budget of 1 USD"):
            await session.run(base, limiter=limiter.for_run("c"))
        assert inside(tmp_path) == folders  # refused before any folder


async def test_what_was_spent_before_counts_and_rounds_reserve_what_rounds_cost() -> None:
    limiter = SharedLimiter(max_cost=1.0)
    await limiter.settle("earlier", 0.6)  # a product of an earlier batch
    assert await limiter.reserve("next", 0.3)
    # Until a priced round has ended, what judging costs is unknown: the next one waits.
    waiting = asyncio.create_task(limiter.reserve("another", 0.01))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    await limiter.settle("next", 0.35)  # its round cost 0.35: rounds now reserve that much
    assert not await waiting  # 0.6 + 0.35 spent, + 0.35 > 1
    assert limiter.round_cost == pytest.approx(0.35)
    assert limiter.committed == pytest.approx(0.95)
    await limiter.settle("earlier", 0.25)  # a resumed run's own total replaces the old figure
    assert limiter.spent == pytest.approx(0.6)
    assert await limiter.reserve("another", 0.01)  # no wait now: rounds' cost is known
    assert limiter.committed == pytest.approx(0.95)
    free = SharedLimiter(max_cost=1.0)
    assert await free.reserve("a", 0.0) and await free.reserve("b", 0.0)  # unpriced: no wait
    unlimited = SharedLimiter()
    assert await unlimited.reserve("any", 1e9)
