"""The data that flows through the loop. Providers and the loop share these and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentic_image_gen.usage import CallRecord, totals_of


class Quality(StrEnum):
    AUTO = "auto"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Background(StrEnum):
    AUTO = "auto"
    OPAQUE = "opaque"
    TRANSPARENT = "transparent"


class OutputFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"

    @property
    def extension(self) -> str:
        return "jpg" if self is OutputFormat.JPEG else self.value

    @property
    def pil_format(self) -> str:
        return self.value.upper()


class ImageSettings(BaseModel):
    """What the user asked of every image: passed unchanged to the generator each turn."""

    model_config = ConfigDict(frozen=True)

    quality: Quality = Quality.HIGH
    size: str = "1024x1024"
    background: Background = Background.TRANSPARENT
    output_format: OutputFormat = OutputFormat.PNG

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height), or None for ``auto``."""
        if self.size == "auto":
            return None
        width, height = self.size.split("x")
        return int(width), int(height)


@dataclass(frozen=True)
class ReferenceImage:
    """A reference image loaded and checked once; providers decide how to send it."""

    source: str
    data: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class GenerationRequest:
    """One generation turn.

    ``context`` is the opaque continuation token of the previous turn (OpenAI's response id, a
    local model's settings); the loop passes it back without reading it. ``references`` come
    with every turn: a provider whose context already holds them must not send them again.
    """

    prompt: str
    settings: ImageSettings
    references: tuple[ReferenceImage, ...] = ()
    context: str | None = None


@dataclass(frozen=True)
class GeneratedImage:
    """Decoded and checked image bytes, not yet on disk."""

    data: bytes
    output_format: OutputFormat
    width: int
    height: int
    context: str | None = None
    revised_prompt: str | None = None


@dataclass(frozen=True)
class EvaluationRequest:
    """What an evaluator may look at: the image, the user's request, and what was asked."""

    image: GeneratedImage
    prompt: str
    original_prompt: str
    settings: ImageSettings
    references: tuple[ReferenceImage, ...] = ()


class Evaluation(BaseModel):
    """A score and a critique. ``details`` carries structured findings a provider may add."""

    score: int = Field(ge=0, le=100)
    feedback: str
    details: dict[str, Any] = Field(default_factory=dict)


class Iteration(BaseModel):
    """One image, its evaluation and its ids: the unit of history and of the journal."""

    index: int
    round: int = 1
    candidate: int = 1
    prompt: str
    image_path: str
    width: int
    height: int
    output_format: OutputFormat
    context: str | None = None
    revised_prompt: str | None = None
    evaluation: Evaluation | None = None
    generation_seconds: float = 0.0
    evaluation_seconds: float = 0.0

    @property
    def score(self) -> int:
        return self.evaluation.score if self.evaluation else -1


StopReason = Literal["threshold", "max_iterations", "budget", "error", "interrupted"]


class RunResult(BaseModel):
    """The outcome of a run: what the CLI prints and what run.json keeps."""

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

    def best(self, iterations: list[Iteration] | None = None) -> Iteration | None:
        """Highest score wins; on a tie the later iteration (it had more refinement)."""
        pool = self.iterations if iterations is None else iterations
        scored = [it for it in pool if it.evaluation is not None]
        if not scored:
            return None
        return max(reversed(scored), key=lambda it: it.score)

    def rounds(self) -> dict[int, list[Iteration]]:
        """Iterations grouped by round, in order; with one candidate a round is an iteration."""
        grouped: dict[int, list[Iteration]] = {}
        for iteration in self.iterations:
            grouped.setdefault(iteration.round, []).append(iteration)
        return grouped

    def lineage(self) -> list[Iteration]:
        """The best of each round: the chain each next round continued from."""
        return [best for group in self.rounds().values() if (best := self.best(group))]

    def to_output(self) -> dict[str, Any]:
        """The stdout JSON: the specification's keys first, then ours."""
        best = self.best()
        evaluated = [it for it in self.iterations if it.evaluation is not None]
        output: dict[str, Any] = {
            "best_image_url": best.image_path if best else None,
            "final_score": best.score if best else None,
            "prompt_history": [it.prompt for it in self.iterations],
            "image_history": [it.image_path for it in self.iterations],
            "feedback_history": [it.evaluation.feedback for it in evaluated if it.evaluation],
            "thread_id": self.thread_id,
            "run_dir": self.run_dir,
            "score_history": [it.score for it in evaluated],
            "response_ids": [it.context for it in self.iterations],
            "iterations": len(self.iterations),
            "best_iteration": best.index if best else None,
            "stop_reason": self.stop_reason,
            "rounds": [
                {
                    "round": number,
                    "prompt": group[0].prompt,
                    "iterations": [it.index for it in group],
                    "scores": [it.score if it.evaluation else None for it in group],
                    "best_iteration": chosen.index if (chosen := self.best(group)) else None,
                }
                for number, group in self.rounds().items()
            ],
            "usage": totals_of(self.usage),
        }
        if self.error:
            output["error"] = self.error
        return output
