"""Image generation through the Responses API's ``image_generation`` tool.

Turn 1 sends the prompt and every reference as an ``input_image``; later turns send only the
refined prompt with ``previous_response_id``, so the model edits with the whole context
without the references being uploaded again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from openai.types.responses import Response

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.core.types import (
    GeneratedImage,
    GenerationRequest,
    ImageSettings,
    OutputFormat,
)
from agentic_image_gen.inputs.imaging import NotAnImage, data_url, decode_image
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.openai.client import ImagePrice, OpenAIApi, shared_api
from agentic_image_gen.providers.openai.plugin import OpenAIOptions


class OpenAIImageGenerator:
    def __init__(self, api: OpenAIApi, model: str, image_model: str) -> None:
        self._api = api
        self._model = model
        self._image_model = image_model

    @classmethod
    async def create(cls, context: ProviderContext) -> OpenAIImageGenerator:
        options = context.options_as(OpenAIOptions)
        return cls(await shared_api(context), options.model, options.image_model)

    def image_cost(self, settings: ImageSettings) -> float | None:
        prices = self._api.ledger.prices
        return prices.image_cost(self._image_model, settings.quality.value, settings.size)

    def _tool(self, settings: ImageSettings) -> dict[str, Any]:
        return {
            "type": "image_generation",
            "model": self._image_model,
            "quality": settings.quality.value,
            "size": settings.size,
            "background": settings.background.value,
            "output_format": settings.output_format.value,
        }

    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        content: list[dict[str, Any]] = [{"type": "input_text", "text": request.prompt}]
        # A continued response already holds the references: they are uploaded once.
        references = () if request.context else request.references
        content += [
            {
                "type": "input_image",
                "image_url": data_url(reference.data, reference.mime_type),
                "detail": "high",
            }
            for reference in references
        ]
        arguments: dict[str, Any] = {
            "model": self._model,
            "input": [{"role": "user", "content": content}],
            "tools": [self._tool(request.settings)],
            "tool_choice": {"type": "image_generation"},
        }
        if request.context:
            arguments["previous_response_id"] = request.context
        settings = request.settings
        response = await self._api(
            "generating an image",
            lambda client: client.responses.create(**arguments),
            ImagePrice(self._image_model, settings.quality.value, settings.size),
            stage="generation",
        )
        return await asyncio.to_thread(_decoded, response, request.settings.output_format)


def _decoded(response: Response, expected: OutputFormat) -> GeneratedImage:
    """The image of the response, checked to be a whole image of the asked format."""
    calls = [item for item in response.output if item.type == "image_generation_call"]
    results = [call for call in calls if call.result]
    if not results:
        raise ProviderError(f"OpenAI returned no image (response {response.id}): {_why(response)}")
    call = results[-1]
    try:
        data = base64.b64decode(call.result or "", validate=True)
        decoded = decode_image(data)
    except (binascii.Error, NotAnImage) as exc:
        raise ProviderError(f"OpenAI returned a broken image (response {response.id})") from exc
    info = decoded.info
    if info.format != expected.pil_format:
        raise ProviderError(
            f"OpenAI returned a {info.format or 'unknown'} image, "
            f"not the {expected.value} that was asked for"
        )
    return GeneratedImage(
        data=data,
        output_format=expected,
        width=info.width,
        height=info.height,
        context=response.id,
        revised_prompt=call.revised_prompt,
        pixels=decoded.pixels,
    )


def _why(response: Response) -> str:
    """Explain a response without an image: a refusal, a failed call, or plain text."""
    for item in response.output:
        if item.type == "image_generation_call" and item.error is not None:
            return f"the image call failed: {item.error.message}"
        if item.type == "message":
            for part in item.content:
                if part.type == "refusal":
                    return f"the model refused: {part.refusal}"
                if part.type == "output_text" and part.text.strip():
                    return f"the model answered with text only: {part.text.strip()[:300]}"
    if response.error is not None:
        return response.error.message
    if response.incomplete_details is not None:
        return f"the response is incomplete ({response.incomplete_details.reason})"
    return f"the response status is {response.status}"
