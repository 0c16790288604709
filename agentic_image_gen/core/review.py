"""A person in the loop: what a run asks at a decision point, and what the person answers.

The engine asks (``ReviewRequest``) and waits for a ``Reviewer``, any object with an async
``review`` method: a terminal prompt, a web page, an MCP tool. Decisions are data, journaled
with who made them, so a run killed while it waits resumes waiting and a report can say who
chose what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

# never: autonomous; rounds: after every round and at the end; final: at the end only.
ReviewMode = Literal["never", "rounds", "final"]
ReviewKind = Literal["round", "final"]
MAX_NOTES_CHARS = 4_000


@dataclass(frozen=True)
class Candidate:
    """One image a person chooses among."""

    iteration: int
    round: int
    candidate: int
    score: int | None
    feedback: str | None
    image_path: str


@dataclass(frozen=True)
class ReviewRequest:
    """A decision point. ``suggested`` is the evaluator's choice (what happens on a timeout);
    ``can_continue`` is False when no round may follow (a round review can then only accept
    or pick, and the final review follows)."""

    run_dir: str
    kind: ReviewKind
    round: int
    candidates: tuple[Candidate, ...]
    suggested: int | None
    can_continue: bool = True

    @property
    def iterations(self) -> tuple[int, ...]:
        return tuple(candidate.iteration for candidate in self.candidates)

    def check(self, decision: ReviewDecision) -> None:
        """Raise ValueError when ``decision`` does not answer this request."""
        if decision.pick is not None and decision.pick not in self.iterations:
            known = ", ".join(str(index) for index in self.iterations)
            raise ValueError(f"pick {decision.pick} is not one of the candidates ({known})")
        if self.kind == "final" and (decision.retry or decision.prompt or decision.notes):
            raise ValueError("the final review approves an image: give only pick (or none)")


class ReviewDecision(BaseModel):
    """A person's answer.

    At a round: ``pick`` continues from that image (None: the evaluator's choice);
    ``retry`` says none is good (the round is tried again from the round before, and counts
    against the iteration cap); ``notes`` join the critique the prompter reads; ``prompt``
    is the next prompt, as written (no refinement); ``accept`` stops the run with ``pick``
    (or the evaluator's choice) as its result. At the end: ``pick`` approves that image
    (None: the evaluator's best).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pick: int | None = None
    retry: bool = False
    accept: bool = False
    notes: str = Field(default="", max_length=MAX_NOTES_CHARS)
    prompt: str | None = Field(default=None, min_length=1, max_length=32_000)
    by: str = Field(default="reviewer", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_intent(self) -> ReviewDecision:
        if self.retry and (self.accept or self.pick is not None):
            raise ValueError("retry means no candidate is good: it cannot pick or accept")
        if self.accept and self.prompt is not None:
            raise ValueError("accept stops the run: a next prompt would never be used")
        return self


class ReviewRecord(ReviewDecision):
    """A decision as journaled: where it was made and when; ``timed_out`` when nobody
    answered within ``review_timeout`` and the evaluator's choice went on."""

    kind: ReviewKind
    round: int
    decided_at: str
    timed_out: bool = False


@runtime_checkable
class Reviewer(Protocol):
    """Whoever answers a run's review requests."""

    async def review(self, request: ReviewRequest) -> ReviewDecision: ...
