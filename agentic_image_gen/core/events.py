"""Typed events: what the engine tells whoever watches a run (a terminal, a page, an agent).

Each event names its round and candidate and carries a frozen snapshot taken when it
happened, never the live result, so a watcher that keeps events (a web page, a log) sees
the run as it was then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from agentic_image_gen.core.checklist import RequirementResult
    from agentic_image_gen.core.result import RunResult
    from agentic_image_gen.core.review import ReviewRequest
    from agentic_image_gen.core.types import Fidelity

Stage = Literal["generating", "evaluating", "refining"]

# One table of stop-reason labels, for every front end and the report.
STOP_REASON_LABELS: dict[str, str] = {
    "threshold": "reached the threshold",
    "max_iterations": "used every round",
    "budget": "stopped at the cost budget",
    "plateau": "stopped improving",
    "accepted": "accepted by the reviewer",
    "error": "stopped on an error",
    "interrupted": "interrupted",
}


def stop_label(reason: str | None) -> str:
    return STOP_REASON_LABELS.get(reason or "", reason or "unfinished")


@dataclass(frozen=True)
class IterationView:
    """One image as it stood: enough for a progress line or a live card (its checklist
    ticks and fidelity too: the fidelity may land after the score, in a later snapshot)."""

    index: int
    round: int
    candidate: int
    score: int | None
    feedback: str | None
    image_path: str
    generation_seconds: float
    evaluation_seconds: float
    prompt: str = ""
    requirements: tuple[RequirementResult, ...] | None = None
    fidelity: Fidelity | None = None


@dataclass(frozen=True)
class Snapshot:
    """The run at the moment of an event."""

    run_dir: str
    iterations: tuple[IterationView, ...]
    best_iteration: int | None
    best_score: int | None
    cost_usd: float
    stop_reason: str | None

    @classmethod
    def of(cls, result: RunResult) -> Snapshot:
        best = result.best()
        return cls(
            run_dir=result.run_dir,
            iterations=tuple(
                IterationView(
                    index=it.index,
                    round=it.round,
                    candidate=it.candidate,
                    score=it.evaluation.score if it.evaluation else None,
                    feedback=it.evaluation.feedback if it.evaluation else None,
                    image_path=it.image_path,
                    generation_seconds=it.generation_seconds,
                    evaluation_seconds=it.evaluation_seconds,
                    prompt=it.prompt,
                    requirements=(
                        tuple(it.evaluation.requirements)
                        if it.evaluation and it.evaluation.requirements is not None
                        else None
                    ),
                    fidelity=it.fidelity,
                )
                for it in result.iterations
            ),
            best_iteration=best.index if best else None,
            best_score=best.score if best else None,
            cost_usd=round(sum(record.cost_usd for record in result.usage), 6),
            stop_reason=result.stop_reason,
        )


@dataclass(frozen=True)
class RunStarted:
    """``round`` is the number of rounds already played (a resumed run starts with some)."""

    run_dir: str
    max_rounds: int
    candidates: int
    snapshot: Snapshot  # a resumed run starts with what it already has
    round: int = 0
    candidate: int = 0
    iteration: int = 0


@dataclass(frozen=True)
class StageStarted:
    """A provider call began: ``iteration`` is the image's index (for ``refining``, the
    index of the image the refinement starts from)."""

    stage: Stage
    round: int
    candidate: int
    iteration: int
    snapshot: Snapshot


@dataclass(frozen=True)
class ImageSaved:
    """An image is on disk (``image_path``), before it is scored: a page can show it now."""

    round: int
    candidate: int
    iteration: int
    image_path: str
    snapshot: Snapshot


@dataclass(frozen=True)
class ImageScored:
    round: int
    candidate: int
    iteration: int
    score: int
    snapshot: Snapshot


@dataclass(frozen=True)
class ReviewRequested:
    """The run waits for a person (RunConfig.review): ``request`` carries the candidates;
    answer through the reviewer the run was given. ``iteration`` is the evaluator's choice."""

    round: int
    candidate: int
    iteration: int
    request: ReviewRequest
    snapshot: Snapshot


@dataclass(frozen=True)
class RunFinished:
    """The last event of every run, however it ended (``stop_reason`` says how): ``result``
    is the RunResult; ``round``, ``candidate`` and ``iteration`` name the best image (0: none)."""

    stop_reason: str
    snapshot: Snapshot
    result: RunResult
    round: int = 0
    candidate: int = 0
    iteration: int = 0


Event = RunStarted | StageStarted | ImageSaved | ImageScored | ReviewRequested | RunFinished
EventSink = Callable[[Event], None]
