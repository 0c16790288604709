"""A tool made from an arguments model: the model's fields become the tool's flat arguments
(published with their types, defaults and descriptions), and the model validates them, so a
bad argument is one line naming it rather than the SDK's multi-line report."""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, WithJsonSchema
from pydantic_core import PydanticUndefined

from agentic_image_gen.core.errors import AigError

ArgumentsT = TypeVar("ArgumentsT", bound=BaseModel)
# A tool answers with its result, or (a review asked by reply) with a question.
Answer = CallToolResult | InputRequiredResult
Body = Callable[[ArgumentsT, Context[Any, Any]], Awaitable[Answer]]


def tool_function(
    name: str, model: type[ArgumentsT], output: type[BaseModel], body: Body[ArgumentsT]
) -> Callable[..., Awaitable[Answer]]:
    """An async function whose signature is ``model``'s fields (for MCPServer.add_tool):
    it validates them with ``model`` and calls ``body``; an AigError is the tool's error."""
    parameters = [
        inspect.Parameter(
            field_name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if info.is_required() else _default(info),
            annotation=Annotated[
                Any,
                WithJsonSchema(_schema(info.annotation, info.description)),
                Field(json_schema_extra=_no_null_default),
            ],
        )
        for field_name, info in model.model_fields.items()
    ]
    parameters.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    returns = Annotated[CallToolResult, output]

    async def tool(**given: Any) -> Answer:
        ctx = given.pop("ctx")
        try:
            arguments = model.model_validate(given)
        except ValidationError as error:
            raise ToolError(one_line(error)) from error
        try:
            return await body(arguments, ctx)
        except AigError as error:
            raise ToolError(" ".join(str(error).split())) from error

    tool.__name__ = tool.__qualname__ = name
    tool.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
    return tool


def one_line(error: ValidationError) -> str:
    """Every problem, each under its argument's name, on one line."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _no_null_default(schema: dict[str, Any]) -> None:
    """An argument left out is the default: no ``"default": null`` beside a type that
    admits no null."""
    if "default" in schema and schema["default"] is None:
        del schema["default"]


def _default(info: Any) -> Any:
    if info.default_factory is not None:
        return info.default_factory()
    return None if info.default is PydanticUndefined else info.default


def _schema(annotation: Any, description: str | None) -> dict[str, Any]:
    """The JSON Schema of one argument, inline (no $defs), the optional None left out: an
    argument left out is the default."""
    if get_origin(annotation) in (Union, types.UnionType):
        arms = [arm for arm in get_args(annotation) if arm is not type(None)]
        annotation = arms[0] if len(arms) == 1 else annotation
    schema: dict[str, Any] = TypeAdapter(annotation).json_schema()
    schema.pop("title", None)
    if description:
        schema["description"] = description
    return schema
