"""The retry policy on its own: which errors are retried, how long it waits, when it stops."""

from __future__ import annotations

import httpx
import pytest

from agentic_image_gen.core.retry import Attempt, RetryPolicy, retry_after_seconds


class Flaky(Exception):
    def __init__(self, transient: bool, retry_after: float | None = None) -> None:
        self.attempt = Attempt(transient, retry_after)


def classify(error: Exception) -> Attempt | None:
    return error.attempt if isinstance(error, Flaky) else None


def recording_policy(**kwargs: float | int) -> tuple[RetryPolicy, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return RetryPolicy(sleep=sleep, **kwargs), slept  # type: ignore[arg-type]


def failing(failures: list[Exception], value: str = "ok"):  # type: ignore[no-untyped-def]
    calls: list[float] = []

    async def call(seconds_left: float) -> str:
        calls.append(seconds_left)
        if failures:
            raise failures.pop(0)
        return value

    return call, calls


async def test_transient_errors_are_retried_with_growing_jittered_backoff() -> None:
    policy, slept = recording_policy(base_delay=1.0, max_delay=3.0)
    call, calls = failing([Flaky(True), Flaky(True), Flaky(True)])
    assert await policy.call(call, classify) == "ok"
    assert len(calls) == 4
    assert policy.retries_used == 3
    assert 0.75 <= slept[0] <= 1.0
    assert 1.5 <= slept[1] <= 2.0
    assert 2.25 <= slept[2] <= 3.0  # capped by max_delay


async def test_retry_after_is_honoured() -> None:
    policy, slept = recording_policy()
    call, _ = failing([Flaky(True, retry_after=7.0)])
    assert await policy.call(call, classify) == "ok"
    assert slept == [7.0]


async def test_permanent_and_foreign_errors_are_not_retried() -> None:
    policy, slept = recording_policy()
    call, calls = failing([Flaky(False)])
    with pytest.raises(Flaky):
        await policy.call(call, classify)
    call, calls = failing([ValueError("bug")])
    with pytest.raises(ValueError):
        await policy.call(call, classify)
    assert (len(calls), slept, policy.retries_used) == (1, [], 0)


async def test_the_run_budget_is_shared_across_calls() -> None:
    policy, _ = recording_policy(budget=3)
    first, _ = failing([Flaky(True), Flaky(True)])
    assert await policy.call(first, classify) == "ok"
    second, calls = failing([Flaky(True), Flaky(True)])
    with pytest.raises(Flaky):
        await policy.call(second, classify)
    assert policy.retries_used == 3
    assert len(calls) == 2


async def test_no_retry_past_the_call_deadline() -> None:
    policy, slept = recording_policy(call_deadline=5.0)
    call, calls = failing([Flaky(True, retry_after=30.0)])
    with pytest.raises(Flaky):
        await policy.call(call, classify)
    assert slept == []
    assert len(calls) == 1
    assert calls[0] <= 5.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(httpx.Headers(headers)) == seconds


async def test_a_retry_after_past_the_deadline_is_not_waited_for() -> None:
    policy, slept = recording_policy(call_deadline=30.0)
    call, calls = failing([Flaky(True, retry_after=45.0)])
    with pytest.raises(Flaky) as raised:
        await policy.call(call, classify)
    assert slept == [] and len(calls) == 1 and policy.retries_used == 0
    assert raised.value.__notes__ == ["the server asked to wait 45 s, longer than this call may"]


async def test_a_retry_after_beyond_the_cap_is_not_waited_for_either() -> None:
    policy, slept = recording_policy(call_deadline=3600.0)
    call, _calls = failing([Flaky(True, retry_after=600.0)])
    with pytest.raises(Flaky):
        await policy.call(call, classify)
    assert slept == []
