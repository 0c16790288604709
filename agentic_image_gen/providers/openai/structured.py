"""Structured Outputs calls shared by the evaluators: a pydantic model in, a validated reply out.

The JSON schema sent is generated from the reply's pydantic model (``strict_schema``), so the
two cannot drift apart. A reply that does not validate (bad JSON, wrong types, a failed
``check``) is asked for once more, then fails with a clear ProviderError: models occasionally
slip, rarely twice. A refusal and an incomplete reply are named as what they are, not as
"bad JSON": a refusal is a ContentRefused (exit 8), and an incomplete reply says why it stopped.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.inputs.imaging import data_url
from agentic_image_gen.providers.openai.client import OpenAIApi
from agentic_image_gen.providers.openai.failures import reply_text

M = TypeVar("M", bound=BaseModel)
ATTEMPTS = 2
_DROPPED = ("title", "default")


def text_part(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


def image_part(data: bytes, mime_type: str = "image/jpeg", detail: str = "high") -> dict[str, Any]:
    return {"type": "input_image", "image_url": data_url(data, mime_type), "detail": detail}


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The Structured Outputs (strict) schema of ``model``: ``$defs`` inlined, every property
    required, no additional properties, no titles or defaults (strict mode rejects them)."""
    document = model.model_json_schema()
    definitions = document.pop("$defs", {})

    def strict(node: Any) -> Any:
        if isinstance(node, list):
            return [strict(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = definitions[node["$ref"].rsplit("/", 1)[-1]]
            return strict(copy.deepcopy(target))
        result = {key: strict(value) for key, value in node.items() if key not in _DROPPED}
        if result.get("type") == "object" and "properties" in result:
            result["required"] = list(result["properties"])
            result["additionalProperties"] = False
        return result

    schema: dict[str, Any] = strict(document)
    return schema


async def ask_structured(
    api: OpenAIApi,
    *,
    action: str,
    model: str,
    instructions: str,
    content: list[dict[str, Any]],
    name: str,
    reply_type: type[M],
    check: Callable[[M], str] = lambda _reply: "",
    stage: str = "evaluation",
) -> M:
    """One stateless Responses call (``store: False``) whose reply must match ``reply_type``.

    ``check`` returns a problem description for a reply that parses but is unusable."""
    text_format = {
        "type": "json_schema",
        "name": name,
        "strict": True,
        "schema": strict_schema(reply_type),
    }
    arguments: dict[str, Any] = {
        "model": model,
        "instructions": instructions,
        "input": [{"role": "user", "content": content}],
        "text": {"format": text_format},
        # A judgement is not a conversation: nothing needs to stay on OpenAI's side.
        "store": False,
    }
    problem = ""
    for _attempt in range(ATTEMPTS):
        response = await api(
            action, lambda client: client.responses.create(**arguments), stage=stage
        )
        text = reply_text(response, action, stage)
        try:
            reply = reply_type.model_validate(json.loads(text))
        except (json.JSONDecodeError, ValidationError) as exc:
            problem = f"not the expected JSON ({str(exc).splitlines()[0]})"
            continue
        problem = check(reply)
        if not problem:
            return reply
    raise ProviderError(f"the reply while {action} was unusable twice: {problem}")
