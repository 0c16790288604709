"""Structured Outputs calls shared by the evaluators: JSON schema in, validated model out.

A reply that does not validate (bad JSON, wrong types, a failed ``check``) is asked for once
more, then fails with a clear ProviderError: models occasionally slip, rarely twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.inputs.imaging import data_url
from agentic_image_gen.providers.openai.client import OpenAIApi

M = TypeVar("M", bound=BaseModel)
ATTEMPTS = 2


def text_part(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


def image_part(data: bytes, mime_type: str = "image/jpeg", detail: str = "high") -> dict[str, Any]:
    return {"type": "input_image", "image_url": data_url(data, mime_type), "detail": detail}


async def ask_structured(
    api: OpenAIApi,
    *,
    action: str,
    model: str,
    instructions: str,
    content: list[dict[str, Any]],
    name: str,
    schema: dict[str, Any],
    reply_type: type[M],
    check: Callable[[M], str] = lambda _reply: "",
) -> M:
    """One stateless Responses call (``store: False``) whose reply must match ``schema``.

    ``check`` returns a problem description for a reply that parses but is unusable."""
    arguments: dict[str, Any] = {
        "model": model,
        "instructions": instructions,
        "input": [{"role": "user", "content": content}],
        "text": {"format": {"type": "json_schema", "name": name, "strict": True, "schema": schema}},
        # A judgement is not a conversation: nothing needs to stay on OpenAI's side.
        "store": False,
    }
    problem = ""
    for _attempt in range(ATTEMPTS):
        response = await api(action, lambda client: client.responses.create(**arguments))
        try:
            reply = reply_type.model_validate(json.loads(response.output_text))
        except (json.JSONDecodeError, ValidationError) as exc:
            problem = f"not the expected JSON ({str(exc).splitlines()[0]})"
            continue
        problem = check(reply)
        if not problem:
            return reply
    raise ProviderError(f"the reply while {action} was unusable twice: {problem}")
