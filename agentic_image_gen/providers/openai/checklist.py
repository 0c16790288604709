"""The checklist evaluator (``--evaluator checklist``, the OpenAI default).

Three Structured Outputs calls: the checklist, once per run; one vision call per image that
answers every requirement (with the references beside the candidate) and rates technical
quality; and, when two images score within a small margin, one pairwise comparison.
The score is computed by our code from the answers (agentic_image_gen.core.checklist), so the
same answers always give the same score.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Literal

from pydantic import BaseModel

from agentic_image_gen.core import checklist as scoring
from agentic_image_gen.core.checklist import Answer, Requirement
from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.core.types import (
    Comparison,
    Evaluation,
    EvaluationRequest,
    ReferenceImage,
)
from agentic_image_gen.inputs.imaging import vision_copy
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.checklist_instructions import (
    CHECKLIST_INSTRUCTIONS,
    CHECKLIST_SCHEMA,
    COMPARE_INSTRUCTIONS,
    COMPARISON_SCHEMA,
    JUDGE_INSTRUCTIONS,
    JUDGEMENT_SCHEMA,
    checklist_request_text,
    judge_request_text,
)
from agentic_image_gen.providers.openai.client import OpenAIApi, shared_api
from agentic_image_gen.providers.openai.evaluator import evaluator_preview
from agentic_image_gen.providers.openai.structured import ask_structured, image_part, text_part

# References are for identity, not pixel peeping: 768 px keeps shape, colour and stone count.
REFERENCE_MAX_SIDE = 768


class _Checklist(BaseModel):
    requirements: list[Requirement]


class _Judgement(BaseModel):
    answers: list[Answer]
    quality: dict[str, int]
    feedback: str


class _Comparison(BaseModel):
    winner: Literal["A", "B"]
    reason: str


def _checklist_problem(reply: _Checklist) -> str:
    return "" if reply.requirements else "the checklist is empty"


def _judgement_problem(reply: _Judgement) -> str:
    missing = set(scoring.QUALITY_ASPECTS) - set(reply.quality)
    if missing:
        return f"quality ratings missing: {', '.join(sorted(missing))}"
    if any(not 0 <= value <= 10 for value in reply.quality.values()):
        return "a quality rating is outside 0-10"
    return ""


class ChecklistEvaluator:
    def __init__(self, api: OpenAIApi, model: str) -> None:
        self._api = api
        self._model = model
        self._reference_previews: dict[str, bytes] = {}

    @classmethod
    async def create(cls, context: ProviderContext) -> ChecklistEvaluator:
        return cls(await shared_api(context), context.config.models.evaluator_model)

    async def _references(self, references: tuple[ReferenceImage, ...]) -> list[dict[str, Any]]:
        """Reference images as input parts, downscaled once per run."""
        parts = []
        for reference in references:
            # By content, not by name: two sources may share a shown name (URLs are shown
            # cut to 200 characters) and one source may be another image on a resume.
            key = hashlib.sha256(reference.data).hexdigest()
            if key not in self._reference_previews:
                self._reference_previews[key] = await asyncio.to_thread(
                    vision_copy, reference.data, REFERENCE_MAX_SIDE, REFERENCE_MAX_SIDE
                )
            parts.append(image_part(self._reference_previews[key]))
        return parts

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
            schema=CHECKLIST_SCHEMA,
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
            schema=JUDGEMENT_SCHEMA,
            reply_type=_Judgement,
            check=_judgement_problem,
        )
        results = scoring.judge(checklist, reply.answers)
        feedback = " ".join(
            part for part in (reply.feedback.strip(), scoring.failed_summary(results)) if part
        )
        return Evaluation(
            score=scoring.blended_score(results, reply.quality),
            feedback=feedback,
            details={
                "requirements": [result.model_dump() for result in results],
                "failed_requirements": [result.id for result in results if not result.passed],
                "quality": reply.quality,
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
            schema=COMPARISON_SCHEMA,
            reply_type=_Comparison,
        )
        return Comparison(winner=0 if reply.winner == "A" else 1, reason=reply.reason.strip())
