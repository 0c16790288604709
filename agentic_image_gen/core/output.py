"""The run's one output model: the JSON the CLI prints, ``show`` and ``runs`` list, the library
returns (``RunResult.output()``), and the web app and the MCP server serve.

The original specification's keys come first, in its order; ours follow. Keys that only
some runs have (``delivery``, ``error``, ``report``, the upload's) are left out when absent,
so a plain run prints what it always printed. ``agentic-image-gen schema`` prints the JSON
Schema of this model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agentic_image_gen.core.checklist import Requirement, RequirementResult
from agentic_image_gen.core.review import ReviewRecord
from agentic_image_gen.core.types import Delivery, Fidelity, TieBreak
from agentic_image_gen.core.usage import UsageTotals

# running: still going (or killed without a word); waiting: for a person's review.
RunStatus = Literal["running", "waiting", "completed", "failed", "interrupted"]
_LEFT_OUT_WHEN_ABSENT = (
    "delivery",
    "error",
    "report",
    "best_image_public_url",
    "report_public_url",
    "upload_error",
)


class RoundOutput(BaseModel):
    round: int
    prompt: str
    iterations: list[int]
    scores: list[int | None]
    best_iteration: int | None


class RunOutput(BaseModel):
    """A run as JSON. Paths are absolute; numbers are numbers."""

    model_config = ConfigDict(frozen=True)

    best_image_url: str | None
    final_score: int | None
    prompt_history: list[str]
    image_history: list[str]
    feedback_history: list[str]
    thread_id: str | None
    run_dir: str
    status: RunStatus
    score_history: list[int]
    response_ids: list[str | None]
    iterations: int
    best_iteration: int | None
    stop_reason: str | None
    rounds: list[RoundOutput]
    usage: UsageTotals
    checklist: list[Requirement] | None
    requirements: list[list[RequirementResult] | None]
    tie_breaks: list[TieBreak]
    continuation: str | None
    segmenter: str | None
    fidelity_history: list[Fidelity | None]
    reviews: list[ReviewRecord] = []
    delivery: Delivery | None = None  # with ``compliant``, computed from its rules
    error: str | None = None
    report: str | None = None
    best_image_public_url: str | None = None
    report_public_url: str | None = None
    upload_error: str | None = None

    def absent(self) -> set[str]:
        """The keys only some runs have, where this one has none (left out of its JSON)."""
        return {key for key in _LEFT_OUT_WHEN_ABSENT if getattr(self, key) is None}

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict (what ``print_json`` prints)."""
        dumped: dict[str, Any] = self.model_dump(mode="json", exclude=self.absent())
        return dumped


class RunSummary(BaseModel):
    """One line of ``runs``: a run's output, cut to what a list shows."""

    created_at: str
    status: RunStatus
    best_score: int | None
    iterations: int
    stop_reason: str | None
    prompt: str
    run_dir: str

    @classmethod
    def of(cls, output: RunOutput, created_at: str, prompt: str) -> RunSummary:
        return cls(
            created_at=created_at,
            status=output.status,
            best_score=output.final_score,
            iterations=output.iterations,
            stop_reason=output.stop_reason,
            prompt=prompt,
            run_dir=output.run_dir,
        )


def output_schema() -> dict[str, Any]:
    """The JSON Schema of RunOutput, as published (``agentic-image-gen schema``)."""
    schema: dict[str, Any] = RunOutput.model_json_schema(mode="serialization")
    return schema
