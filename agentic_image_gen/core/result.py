"""RunResult: the outcome of a run, what run.json keeps, and the one way to its output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from agentic_image_gen.core.checklist import Requirement
from agentic_image_gen.core.output import (
    RoundOutput,
    RunOutput,
    RunStatus,
)
from agentic_image_gen.core.review import ReviewRecord
from agentic_image_gen.core.types import Delivery, Iteration, TieBreak
from agentic_image_gen.core.usage import CallRecord, totals_of

if TYPE_CHECKING:
    from collections.abc import Sequence

StopReason = Literal[
    "threshold", "max_iterations", "budget", "plateau", "accepted", "error", "interrupted"
]


class RunResult(BaseModel):
    """The outcome of a run: what run.json keeps; ``output()`` is what front ends show."""

    run_dir: str
    original_prompt: str
    iterations: list[Iteration]
    stop_reason: StopReason | None = None
    thread_id: str | None = None
    error: str | None = None
    # The refined prompt for the next iteration, journaled before it is used so a resumed
    # run neither loses nor repeats a refinement.
    pending_prompt: str | None = None
    usage: list[CallRecord] = Field(default_factory=list)
    checklist: list[Requirement] | None = None
    tie_breaks: list[TieBreak] = Field(default_factory=list)
    # The user's prompt with a marketplace profile's requirements: what evaluators judge.
    brief: str | None = None
    delivery: Delivery | None = None
    segmenter: str | None = None  # what cut the product out of the reference, when one did
    # How the generator carried a round into the next ("stored": on the provider's server;
    # "stateless": the image sent back), when it says; None for providers without the notion.
    continuation: str | None = None
    # A person's decisions (RunConfig.review), in the order they were made.
    reviews: list[ReviewRecord] = Field(default_factory=list)

    def best(self, iterations: Sequence[Iteration] | None = None) -> Iteration | None:
        """A person's choice first (an approval or accepted pick for the run, a round's pick
        for that round); else the highest score, a tie going to the later iteration unless a
        recorded pairwise tie-break between the leader and a close runner-up says otherwise."""
        pool = self.iterations if iterations is None else list(iterations)
        scored = [it for it in pool if it.evaluation is not None]
        if not scored:
            return None
        by_index = {it.index: it for it in scored}
        rounds = {it.round for it in pool}
        for record in reversed(self.reviews):
            if record.pick not in by_index:
                continue
            if iterations is None and (record.kind == "final" or record.accept):
                return by_index[record.pick]
            if iterations is not None and record.kind == "round" and rounds == {record.round}:
                return by_index[record.pick]
        leader = max(reversed(scored), key=lambda it: it.score)
        for tie_break in reversed(self.tie_breaks):
            if leader.index in tie_break.iterations and set(tie_break.iterations) <= set(by_index):
                return by_index[tie_break.winner]
        return leader

    def review_of(self, number: int) -> ReviewRecord | None:
        """The person's decision on round ``number``, if one was made."""
        return next(
            (r for r in self.reviews if r.kind == "round" and r.round == number), None
        )

    @property
    def approval(self) -> ReviewRecord | None:
        return next((r for r in self.reviews if r.kind == "final"), None)

    def rounds(self) -> dict[int, list[Iteration]]:
        """Iterations grouped by round, in order; with one candidate a round is an iteration."""
        grouped: dict[int, list[Iteration]] = {}
        for iteration in self.iterations:
            grouped.setdefault(iteration.round, []).append(iteration)
        return grouped

    def round_to_play(self, candidates: int) -> int:
        """The round to play next: the last one when a stop left it unfinished (an image
        missing or unscored), else the one after it."""
        rounds = self.rounds()
        current = max(rounds, default=0)
        members = rounds.get(current, [])
        unfinished = len(members) < candidates or any(it.evaluation is None for it in members)
        return current if current and unfinished else current + 1

    def lineage(self) -> list[Iteration]:
        """The best of each round: the chain each next round continued from."""
        return [best for group in self.rounds().values() if (best := self.best(group))]

    def base_for(self, number: int) -> Iteration | None:
        """What round ``number`` continues from: the chosen image of the latest earlier
        round that a person did not send back (``retry``)."""
        for earlier in range(number - 1, 0, -1):
            record = self.review_of(earlier)
            if record is not None and record.retry:
                continue
            return self.best(self.rounds().get(earlier, []))
        return None

    def status(self) -> RunStatus:
        """How the run stands, from its stop reason (the journal may know better: waiting)."""
        if self.stop_reason is None:
            return "running"
        if self.stop_reason == "error":
            return "failed"
        return "interrupted" if self.stop_reason == "interrupted" else "completed"

    def output(self, *, status: RunStatus | None = None, report: str | None = None) -> RunOutput:
        """The run's one output model: what the CLI prints and every front end serves."""
        best = self.best()
        evaluated = [it for it in self.iterations if it.evaluation is not None]
        return RunOutput(
            best_image_url=best.image_path if best else None,
            final_score=best.score if best else None,
            prompt_history=[it.prompt for it in self.iterations],
            image_history=[it.image_path for it in self.iterations],
            feedback_history=[it.evaluation.feedback for it in evaluated if it.evaluation],
            thread_id=self.thread_id,
            run_dir=self.run_dir,
            status=status or self.status(),
            score_history=[it.score for it in evaluated],
            response_ids=[it.context for it in self.iterations],
            iterations=len(self.iterations),
            best_iteration=best.index if best else None,
            stop_reason=self.stop_reason,
            rounds=[
                RoundOutput(
                    round=number,
                    prompt=group[0].prompt,
                    iterations=[it.index for it in group],
                    scores=[it.score if it.evaluation else None for it in group],
                    best_iteration=chosen.index if (chosen := self.best(group)) else None,
                )
                for number, group in self.rounds().items()
            ],
            usage=totals_of(self.usage),
            checklist=self.checklist,
            requirements=[
                it.evaluation.requirements if it.evaluation else None for it in self.iterations
            ],
            tie_breaks=self.tie_breaks,
            continuation=self.continuation,
            segmenter=self.segmenter,
            fidelity_history=[it.fidelity for it in self.iterations],
            reviews=self.reviews,
            delivery=self.delivery,
            error=self.error,
            report=report,
        )
