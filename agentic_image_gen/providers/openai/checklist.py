"""The checklist evaluator (``--evaluator checklist``, the OpenAI default).

Three Structured Outputs calls: the checklist, once per run; one vision call per image that
answers every requirement (with the references beside the candidate) and rates technical
quality; and, when two images score within a small margin, one pairwise comparison.
The score is computed by our code from the answers (agentic_image_gen.core.checklist), so the
same answers always give the same score.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from agentic_image_gen.core import checklist as scoring
from agentic_image_gen.core.checklist import Answer, Requirement
from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.core.types import (
    Comparison,
    Evaluation,
    EvaluationRequest,
    ReferenceImage,
)
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.checklist_instructions import (
    CHECKLIST_INSTRUCTIONS,
    COMPARE_INSTRUCTIONS,
    JUDGE_INSTRUCTIONS,
    checklist_request_text,
    judge_request_text,
)
from agentic_image_gen.providers.openai.client import OpenAIApi, shared_api
from agentic_image_gen.providers.openai.evaluator import evaluator_preview
from agentic_image_gen.providers.openai.plugin import OpenAIOptions
from agentic_image_gen.providers.openai.structured import ask_structured, image_part, text_part
from agentic_image_gen.providers.openai.uploads import ImageUploads, run_uploads


class _Checklist(BaseModel):
    requirements: list[Requirement]


_RATING: JsonDict = {"minimum": 0, "maximum": 10}


class _Quality(BaseModel):
    """Technical quality, 0-10 on each of the aspects scoring.QUALITY_ASPECTS names."""

    sharpness: int = Field(json_schema_extra=_RATING)
    lighting: int = Field(json_schema_extra=_RATING)
    composition: int = Field(json_schema_extra=_RATING)
    realism: int = Field(json_schema_extra=_RATING)


class _Judgement(BaseModel):
    answers: list[Answer]
    quality: _Quality
    feedback: str


class _Comparison(BaseModel):
    winner: Literal["A", "B"]
    reason: str


def _checklist_problem(reply: _Checklist) -> str:
    return "" if reply.requirements else "the checklist is empty"


def _judgement_problem(reply: _Judgement) -> str:
    if any(not 0 <= value <= 10 for value in reply.quality.model_dump().values()):
        return "a quality rating is outside 0-10"
    return ""


class ChecklistEvaluator:
    def __init__(self, api: OpenAIApi, model: str, uploads: ImageUploads) -> None:
        self._api = api
        self._model = model
        self._uploads = uploads

    @classmethod
    async def create(cls, context: ProviderContext) -> ChecklistEvaluator:
        model = context.options_as(OpenAIOptions).evaluator_model
        return cls(await shared_api(context), model, await run_uploads(context))

    async def _references(self, references: tuple[ReferenceImage, ...]) -> list[dict[str, Any]]:
        """Reference images as input parts naming the files the run uploaded once (the same
        files the generator sends; ``detail: high`` looks at them at 768 px anyway)."""
        return [await self._uploads.part(r.data, r.mime_type) for r in references]

    async def derive_checklist(
        self, original_prompt: str, references: tuple[ReferenceImage, ...]
    ) -> list[Requirement]:
        reply = await ask_structured(
            self._api,
            action="deriving the checklist",
            model=self._model,
            instructions=CHECKLIST_INSTRUCTIONS,
            content=[
                text_part(checklist_request_text(original_prompt, len(references))),
                *await self._references(references),
            ],
            name="checklist",
            reply_type=_Checklist,
            check=_checklist_problem,
        )
        return scoring.normalised(reply.requirements)

    async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
        checklist = list(request.checklist)
        if not checklist:
            raise ProviderError("the checklist evaluator was given no checklist")
        preview = await evaluator_preview(request.image)
        reply = await ask_structured(
            self._api,
            action="judging an image against the checklist",
            model=self._model,
            instructions=JUDGE_INSTRUCTIONS,
            content=[
                text_part(
                    judge_request_text(request.original_prompt, checklist, len(request.references))
                ),
                *await self._references(request.references),
                image_part(preview),
            ],
            name="checklist_evaluation",
            reply_type=_Judgement,
            check=_judgement_problem,
        )
        results = scoring.judge(checklist, reply.answers)
        feedback = " ".join(
            part for part in (reply.feedback.strip(), scoring.failed_summary(results)) if part
        )
        return Evaluation(
            score=scoring.blended_score(results, reply.quality.model_dump()),
            feedback=feedback,
            requirements=results,
            details={
                "failed_requirements": [result.id for result in results if not result.passed],
                "quality": reply.quality.model_dump(),
            },
        )

    async def compare_images(
        self, first: EvaluationRequest, second: EvaluationRequest
    ) -> Comparison:
        previews = await asyncio.gather(
            evaluator_preview(first.image), evaluator_preview(second.image)
        )
        reply = await ask_structured(
            self._api,
            action="comparing two close candidates",
            model=self._model,
            instructions=COMPARE_INSTRUCTIONS,
            content=[
                text_part(f"The user's request:\n{first.original_prompt}"),
                *await self._references(first.references),
                text_part("Image A:"),
                image_part(previews[0]),
                text_part("Image B:"),
                image_part(previews[1]),
            ],
            name="pairwise_comparison",
            reply_type=_Comparison,
        )
        return Comparison(winner=0 if reply.winner == "A" else 1, reason=reply.reason.strip())
