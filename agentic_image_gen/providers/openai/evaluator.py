"""Vision evaluation with Structured Outputs: ``{score: 0..100, feedback}``.

The evaluator gets a downscaled copy with transparency shown as a checkerboard (a vision
model sees no alpha). A reply that does not validate is asked for once more, then fails.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel, StrictInt, ValidationError

from agentic_image_gen.errors import ProviderError
from agentic_image_gen.imaging import data_url, fit_within
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.client import OpenAIApi, shared_api
from agentic_image_gen.providers.openai.instructions import (
    EVALUATION_SCHEMA,
    EVALUATOR_INSTRUCTIONS,
    evaluation_request_text,
)
from agentic_image_gen.types import Evaluation, EvaluationRequest

# 1024 px on the longer side is what "detail: high" resolves anyway (768 px on the shorter
# side), so a larger upload would cost bytes and time and show the model nothing more.
EVALUATOR_MAX_SIDE = 1024
ATTEMPTS = 2


class _Reply(BaseModel):
    score: StrictInt
    feedback: str


class OpenAIEvaluator:
    def __init__(self, api: OpenAIApi, model: str) -> None:
        self._api = api
        self._model = model

    @classmethod
    async def create(cls, context: ProviderContext) -> OpenAIEvaluator:
        return cls(await shared_api(context), context.config.models.evaluator_model)

    async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
        request_text = evaluation_request_text(request.original_prompt, request.prompt)
        preview = await asyncio.to_thread(
            fit_within, request.image.data, EVALUATOR_MAX_SIDE, flatten=True
        )
        arguments: dict[str, Any] = {
            "model": self._model,
            "instructions": EVALUATOR_INSTRUCTIONS,
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": request_text},
                        {
                            "type": "input_image",
                            "image_url": data_url(preview, "image/jpeg"),
                            "detail": "high",
                        },
                    ],
                }
            ],
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "image_evaluation",
                    "strict": True,
                    "schema": EVALUATION_SCHEMA,
                }
            },
            # The judgement is not a conversation: nothing needs to stay on OpenAI's side.
            "store": False,
        }
        problem = ""
        for _attempt in range(ATTEMPTS):
            response = await self._api(
                "evaluating an image", lambda client: client.responses.create(**arguments)
            )
            reply, problem = _parse(response.output_text)
            if reply is not None:
                return Evaluation(score=reply.score, feedback=reply.feedback.strip())
        raise ProviderError(f"the evaluator's reply was unusable twice: {problem}")


def _parse(text: str) -> tuple[_Reply | None, str]:
    try:
        reply = _Reply.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as exc:
        return None, f"not the expected JSON ({str(exc).splitlines()[0]})"
    if not 0 <= reply.score <= 100:
        return None, f"score {reply.score} is outside 0-100"
    if not reply.feedback.strip():
        return None, "the feedback is empty"
    return reply, ""
