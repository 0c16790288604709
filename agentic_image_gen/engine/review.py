"""The person-in-the-loop seam: ask a reviewer, wait (or time out), check the answer.

Front ends give the Session a Reviewer (core/review.py): the CLI a terminal prompt, the web
app and the MCP server a ``PendingReviews``, whose ``decide`` they call when the person
answers. The engine journals every decision with who made it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.events import Event, ReviewRequested, Snapshot
from agentic_image_gen.core.output import RunStatus
from agentic_image_gen.core.result import RunResult, StopReason
from agentic_image_gen.core.review import (
    Candidate,
    ReviewDecision,
    Reviewer,
    ReviewRecord,
    ReviewRequest,
)
from agentic_image_gen.core.types import Iteration

TIMEOUT_REVIEWER = "timeout"  # who "decided" when nobody answered in time


def candidates_of(iterations: list[Iteration]) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(
            iteration=it.index,
            round=it.round,
            candidate=it.candidate,
            score=it.evaluation.score if it.evaluation else None,
            feedback=it.evaluation.feedback if it.evaluation else None,
            image_path=it.image_path,
        )
        for it in iterations
        if it.evaluation is not None
    )


async def ask(reviewer: Reviewer, request: ReviewRequest, within: float | None) -> ReviewRecord:
    """The reviewer's decision on ``request``, checked; the evaluator's choice on a timeout."""
    timed_out = False
    try:
        async with asyncio.timeout(within):
            decision = await reviewer.review(request)
    except TimeoutError:
        decision, timed_out = ReviewDecision(pick=request.suggested, by=TIMEOUT_REVIEWER), True
    try:
        request.check(decision)
    except ValueError as exc:
        raise InputError(f"the review of round {request.round}: {exc}") from exc
    return ReviewRecord(
        **decision.model_dump(),
        kind=request.kind,
        round=request.round,
        decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
        timed_out=timed_out,
    )


class Reviews:
    """A run's decision points: asked once each, journaled; a run killed while it waits is
    journaled ``waiting`` and asks again when resumed."""

    def __init__(
        self,
        config: RunConfig,
        result: RunResult,
        reviewer: Reviewer | None,
        emit: Callable[[Callable[[Snapshot], Event]], None],
        journal: Callable[[RunStatus, bool], Awaitable[None]],
    ) -> None:
        self.config = config
        self.result = result
        self.reviewer = reviewer
        self.emit = emit
        self.journal = journal

    async def of_round(
        self, number: int, members: list[Iteration], can_continue: bool
    ) -> ReviewRecord | None:
        """The person's decision on round ``number`` when the run is reviewed by rounds."""
        if self.config.review != "rounds":
            return None
        record = self.result.review_of(number)
        if record is None:
            suggested = self.result.best(members)
            record = await self.ask(
                ReviewRequest(
                    run_dir=self.result.run_dir,
                    kind="round",
                    round=number,
                    candidates=candidates_of(members),
                    suggested=suggested.index if suggested else None,
                    can_continue=can_continue,
                )
            )
        return record

    async def final(self, reason: StopReason) -> None:
        """At the end, a person approves the best image or picks another (once)."""
        if self.config.review == "never" or reason == "accepted" or self.result.approval:
            return
        suggested = self.result.best()
        candidates = candidates_of(self.result.iterations)
        if suggested is None or not candidates:
            return
        await self.ask(
            ReviewRequest(
                run_dir=self.result.run_dir,
                kind="final",
                round=max(self.result.rounds(), default=0),
                candidates=candidates,
                suggested=suggested.index,
                can_continue=False,
            )
        )

    async def ask(self, request: ReviewRequest) -> ReviewRecord:
        """Wait for the reviewer (journaled as waiting: a kill now resumes waiting)."""
        assert self.reviewer is not None
        await self.journal("waiting", True)  # on disk before anyone is told
        best = self.result.best()
        self.emit(
            lambda snap: ReviewRequested(
                request.round, best.candidate if best else 0, request.suggested or 0, request, snap
            )
        )
        record = await ask(self.reviewer, request, self.config.review_timeout)
        self.result.reviews.append(record)
        await self.journal("running", True)
        return record


def with_notes(result: RunResult) -> list[Iteration]:
    """The lineage the prompter reads, with a person's notes joined to each round's critique
    (the journal keeps the evaluator's words as they were)."""
    lineage = result.lineage()
    for position, iteration in enumerate(lineage):
        record = result.review_of(iteration.round)
        if record is None or not record.notes.strip() or iteration.evaluation is None:
            continue
        feedback = f"{iteration.evaluation.feedback}\nThe person reviewing: {record.notes}"
        evaluation = iteration.evaluation.model_copy(update={"feedback": feedback})
        lineage[position] = iteration.model_copy(update={"evaluation": evaluation})
    return lineage


class PendingReviews:
    """A Reviewer for front ends that answer later (a web page, an MCP tool): each request
    waits here, by run folder, until ``decide`` is called with a checked decision."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[ReviewRequest, asyncio.Future[ReviewDecision]]] = {}

    async def review(self, request: ReviewRequest) -> ReviewDecision:
        future: asyncio.Future[ReviewDecision] = asyncio.get_running_loop().create_future()
        self._waiting[request.run_dir] = (request, future)
        try:
            return await future
        finally:
            self._waiting.pop(request.run_dir, None)

    def pending(self, run_dir: str) -> ReviewRequest | None:
        """What the run in ``run_dir`` waits for, if it waits."""
        waiting = self._waiting.get(run_dir)
        return waiting[0] if waiting else None

    def decide(self, run_dir: str, decision: ReviewDecision) -> None:
        """Answer the run's request; ValueError (one line) when nothing waits or the
        decision does not fit the request."""
        waiting = self._waiting.get(run_dir)
        if waiting is None or waiting[1].done():
            raise ValueError("this run is not waiting for a review")
        request, future = waiting
        request.check(decision)
        future.set_result(decision)
