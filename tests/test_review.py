"""A person in the loop: picks, retries, notes, a prompt of their own, accepting, the final
approval, a timeout, and a run killed while it waits that resumes waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from test_session_api import Generator, config, inside, journal, own

from agentic_image_gen import (
    PendingReviews,
    ReviewDecision,
    ReviewRequest,
    ReviewRequested,
    Session,
)
from agentic_image_gen.providers.registry import Registry


class Scripted:
    """Answers each request with the next decision (and keeps what it was asked)."""

    def __init__(self, decisions: Sequence[ReviewDecision]) -> None:
        self.decisions = list(decisions)
        self.asked: list[ReviewRequest] = []

    async def review(self, request: ReviewRequest) -> ReviewDecision:
        self.asked.append(request)
        return self.decisions.pop(0)


async def test_picks_retries_notes_and_accept_steer_the_run(tmp_path: Path) -> None:
    parts = own([40, 60, 90, 30, 50, 20])
    reviewer = Scripted(
        [
            ReviewDecision(pick=1, notes="warmer light, please", by="ana"),  # not the 60
            ReviewDecision(retry=True, notes="the ring is too small"),
            ReviewDecision(pick=6, accept=True),  # the 20, because the person likes it
        ]
    )
    async with Session(registry=Registry([]), env={}) as session:
        result = await session.run(
            config(tmp_path, candidates=2, max_iterations=5, review="rounds"),
            reviewer=reviewer,
            **parts,  # type: ignore[arg-type]
        )
    generator = parts["generator"]
    assert isinstance(generator, Generator)
    # Round 2 continued from the person's pick (image 1), not the evaluator's (image 2);
    # round 3 too, since round 2 was sent back.
    assert generator.contexts == [None, None, "ctx-1", "ctx-1", "ctx-1", "ctx-1"]
    assert [r.suggested for r in reviewer.asked] == [2, 3, 5]
    assert [r.kind for r in reviewer.asked] == ["round", "round", "round"]
    assert result.stop_reason == "accepted"
    assert result.best() is not None and result.best().index == 6  # type: ignore[union-attr]
    output = result.output()
    assert output.best_image_url == result.iterations[5].image_path and output.final_score == 20
    # The notes joined the critique the prompter read.
    prompter = parts["prompter"]
    histories = prompter.histories  # type: ignore[attr-defined]
    assert "The person reviewing: warmer light, please" in histories[0][-1].evaluation.feedback
    assert "too small" in histories[1][-1].evaluation.feedback
    stored = journal(result.run_dir)["result"]["reviews"]  # type: ignore[index]
    assert [(r["round"], r["pick"], r["retry"], r["accept"], r["by"]) for r in stored] == [
        (1, 1, False, False, "ana"),
        (2, None, True, False, "reviewer"),
        (3, 6, False, True, "reviewer"),
    ]
    # The journal keeps the evaluator's own words; the notes live in the decisions.
    iterations = journal(result.run_dir)["result"]["iterations"]  # type: ignore[index]
    assert all("warmer light" not in it["evaluation"]["feedback"] for it in iterations)


async def test_a_prompt_of_the_persons_own_is_used_as_written(tmp_path: Path) -> None:
    parts = own([40, 60])
    reviewer = Scripted(
        [ReviewDecision(prompt="a gold ring on black velvet"), ReviewDecision(), ReviewDecision()]
    )
    async with Session(registry=Registry([]), env={}) as session:
        result = await session.run(
            config(tmp_path, max_iterations=2, review="rounds"), reviewer=reviewer, **parts
        )  # type: ignore[arg-type]
    assert result.iterations[1].prompt == "a gold ring on black velvet"
    assert parts["prompter"].histories == []  # type: ignore[attr-defined]
    assert [r.kind for r in reviewer.asked] == ["round", "round", "final"]


async def test_the_final_review_approves_another_image(tmp_path: Path) -> None:
    reviewer = Scripted([ReviewDecision(pick=1, by="owner")])
    async with Session(registry=Registry([]), env={}) as session:
        result = await session.run(
            config(tmp_path, max_iterations=3, review="final"),
            reviewer=reviewer,
            **own([70, 90, 80]),  # type: ignore[arg-type]
        )
    (request,) = reviewer.asked
    assert request.kind == "final" and request.suggested == 2 and request.iterations == (1, 2, 3)
    assert result.stop_reason == "max_iterations"
    assert result.output().best_image_url == result.iterations[0].image_path
    assert result.output().reviews[0].by == "owner"


async def test_nobody_answers_and_the_evaluators_choice_goes_on(tmp_path: Path) -> None:
    class Silent:
        async def review(self, request: ReviewRequest) -> ReviewDecision:
            await asyncio.Event().wait()
            raise AssertionError

    async with Session(registry=Registry([]), env={}) as session:
        result = await session.run(
            config(tmp_path, max_iterations=2, review="rounds", review_timeout=1),
            reviewer=Silent(),
            **own([40, 60]),  # type: ignore[arg-type]
        )
    assert [(r.kind, r.pick, r.timed_out, r.by) for r in result.reviews] == [
        ("round", 1, True, "timeout"),
        ("round", 2, True, "timeout"),
        ("final", 2, True, "timeout"),
    ]
    assert result.best().index == 2  # type: ignore[union-attr]


async def test_a_run_killed_while_it_waits_resumes_waiting(tmp_path: Path) -> None:
    pending = PendingReviews()
    async with Session(registry=Registry([]), env={}) as session:
        asked = asyncio.Event()
        task = asyncio.create_task(
            session.run(
                config(tmp_path, max_iterations=2, review="rounds"),
                lambda e: asked.set() if isinstance(e, ReviewRequested) else None,
                reviewer=pending,
                **own([40, 60]),  # type: ignore[arg-type]
            )
        )
        await asyncio.wait_for(asked.wait(), 10)
        (run_dir,) = inside(tmp_path)
        assert journal(run_dir)["status"] == "waiting"
        assert session.output(run_dir).status == "waiting"
        assert pending.pending(str(run_dir)) is not None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert pending.pending(str(run_dir)) is None
        # Resumed: it asks about round 1 again, then goes on.
        requests: list[ReviewRequest] = []

        def answer(event: object) -> None:
            if isinstance(event, ReviewRequested):
                requests.append(event.request)
                loop = asyncio.get_running_loop()
                loop.call_soon(pending.decide, str(run_dir), ReviewDecision(by="web"))

        result = await session.resume(run_dir, answer, reviewer=pending, **own([40, 60], made=1))
    assert [(r.kind, r.round) for r in requests] == [("round", 1), ("round", 2), ("final", 2)]
    assert result.stop_reason == "max_iterations" and len(result.iterations) == 2


async def test_a_decision_that_does_not_fit_is_refused_in_one_line(tmp_path: Path) -> None:
    pending = PendingReviews()
    request = ReviewRequest(str(tmp_path), "round", 1, (), None)
    try:
        pending.decide(str(tmp_path), ReviewDecision())
    except ValueError as exc:
        assert str(exc) == "this run is not waiting for a review"
    else:
        raise AssertionError("decide without a request")
    try:
        request.check(ReviewDecision(pick=9))
    except ValueError as exc:
        assert "pick 9 is not one of the candidates" in str(exc)
    else:
        raise AssertionError("a pick that is no candidate")
