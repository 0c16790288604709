"""The specification's single-score evaluator (``--evaluator rubric``): vision input and
Structured Outputs ``{score: 0..100, feedback}``.

The image is sent as a downscaled copy with transparency shown as a checkerboard (a vision
model sees no alpha).
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field, StrictInt

from agentic_image_gen.core.types import Evaluation, EvaluationRequest, GeneratedImage
from agentic_image_gen.inputs.imaging import vision_copy
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.client import OpenAIApi, shared_api
from agentic_image_gen.providers.openai.instructions import (
    EVALUATOR_INSTRUCTIONS,
    evaluation_request_text,
)
from agentic_image_gen.providers.openai.plugin import OpenAIOptions
from agentic_image_gen.providers.openai.structured import ask_structured, image_part, text_part

# "detail: high" looks at 768 px on the shorter side. A copy of up to 1024 x 1536 px lets the
# standard sizes through without a resize (which would cost more CPU time on the critical path
# than the API's own downscale), and is still a few percent of the PNG's bytes.
EVALUATOR_SHORT_SIDE, EVALUATOR_LONG_SIDE = 1024, 1536


class _Reply(BaseModel):
    """The reply's model, and (generated from it) the JSON schema the model must follow."""

    score: StrictInt = Field(
        description="0 to 100, per the scoring guide",
        json_schema_extra={"minimum": 0, "maximum": 100},
    )
    feedback: str = Field(description="One brief, actionable paragraph.")


def _problem(reply: _Reply) -> str:
    if not 0 <= reply.score <= 100:
        return f"score {reply.score} is outside 0-100"
    if not reply.feedback.strip():
        return "the feedback is empty"
    return ""


async def evaluator_preview(image: GeneratedImage) -> bytes:
    """The copy every OpenAI evaluator sees (JPEG, the size ``detail: high`` looks at)."""
    source = image.data if image.pixels is None else image.pixels
    return await asyncio.to_thread(vision_copy, source, EVALUATOR_SHORT_SIDE, EVALUATOR_LONG_SIDE)


class OpenAIEvaluator:
    def __init__(self, api: OpenAIApi, model: str) -> None:
        self._api = api
        self._model = model

    @classmethod
    async def create(cls, context: ProviderContext) -> OpenAIEvaluator:
        model = context.options_as(OpenAIOptions).evaluator_model
        return cls(await shared_api(context), model)

    async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
        preview = await evaluator_preview(request.image)
        reply = await ask_structured(
            self._api,
            action="evaluating an image",
            model=self._model,
            instructions=EVALUATOR_INSTRUCTIONS,
            content=[
                text_part(evaluation_request_text(request.original_prompt, request.prompt)),
                image_part(preview),
            ],
            name="image_evaluation",
            reply_type=_Reply,
            check=_problem,
        )
        return Evaluation(score=reply.score, feedback=reply.feedback.strip())
