"""Where the installed openai SDK knows more than the spec copy, the SDK is the reference.

The spec copy (2026-08-21) predates fields the API now sends and accepts: ``Response.tool_usage``,
the image call's ``error`` with moderation details, ``revised_prompt``, ``action``, and the image
qualities ``xhigh`` and ``max``. This overlay adds exactly those to the loaded document, each
taken from the SDK's own types (its pydantic models' schemas, its ``Literal`` values), so the
fake validates against what the real API does today and nothing invented.
"""

from __future__ import annotations

import copy
import typing
from typing import Any

from openai.types.responses.response import ToolUsage
from openai.types.responses.response_output_item import ImageGenerationCall
from openai.types.responses.tool_param import ImageGeneration


def _inlined(model: Any) -> dict[str, Any]:
    """The JSON schema of an SDK model with its ``$defs`` inlined (the spec has its own)."""
    document = model.model_json_schema()
    definitions = document.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return inline(copy.deepcopy(definitions[node["$ref"].rsplit("/", 1)[-1]]))
        return {key: inline(value) for key, value in node.items()}

    schema: dict[str, Any] = inline(document)
    return schema


def _literal_values(annotation: Any) -> list[str]:
    values: list[str] = []
    for arg in typing.get_args(annotation) or ():
        values += _literal_values(arg) if typing.get_args(arg) else []
        if isinstance(arg, str):
            values.append(arg)
    return values


def apply(document: dict[str, Any]) -> None:
    """In place: the SDK-newer fields, added to the spec's schemas."""
    schemas = document["components"]["schemas"]
    # Response.tool_usage (as the SDK types it), on the last allOf member that has properties.
    response = schemas["Response"]
    holder = next(
        member for member in reversed(response.get("allOf", [response])) if "properties" in member
    )
    holder["properties"]["tool_usage"] = {"anyOf": [_inlined(ToolUsage), {"type": "null"}]}
    # The image call's fields the SDK reads (error with moderation details, revised_prompt...).
    call = schemas["ImageGenToolCall"]
    sdk_call = _inlined(ImageGenerationCall)["properties"]
    for name, schema in sdk_call.items():
        call["properties"].setdefault(name, schema)
    # The qualities the SDK's image_generation tool accepts.
    quality = schemas["ImageGenTool"]["properties"]["quality"]
    hints = typing.get_type_hints(ImageGeneration, include_extras=False)
    for value in _literal_values(hints["quality"]):
        if value not in quality["enum"]:
            quality["enum"].append(value)
