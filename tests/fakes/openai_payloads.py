"""Pure helpers of the fake OpenAI server: routing rule, drawn images and reply bodies."""

from __future__ import annotations

import base64
import functools
import io
import re
import secrets
import time
from typing import Any

from PIL import Image, ImageDraw

_PALETTE = [(220, 40, 60), (40, 140, 220), (250, 180, 30), (60, 180, 90), (150, 70, 200)]
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
# The fake's own token counts for an image call (tool_usage.image_gen), independent of the
# project's price table: output image tokens of a 1024x1024 image per quality, scaled by area,
# and a flat count per input image.
IMAGE_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 8320, "max": 16640}
IMAGE_OUTPUT_TOKENS["auto"] = IMAGE_OUTPUT_TOKENS["high"]
INPUT_IMAGE_TOKENS = 323
SNAPSHOT_DATE = "2026-08-06"
_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 30,
}


class FakeAPIError(Exception):
    """An error reply: ``status`` and an OpenAI-shaped body ``{"error": {...}}``."""

    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "type": "invalid_request_error", "param": self.param}
        return {"error": {**error, "code": self.code}}


def classify(method: str, path: str, body: Any) -> str:
    """The fake's routing rule: generation | evaluation | refinement | conversation |
    conversation_deleted | other.

    For ``POST /v1/responses``: an ``image_generation`` tool means generation, else a
    ``json_schema`` text format means evaluation (or, by schema name, the checklist evaluator's
    ``checklist`` derivation and ``comparison``), else refinement.
    """
    if method == "POST" and path == "/v1/conversations":
        return "conversation"
    if method == "DELETE" and path.startswith("/v1/conversations/"):
        return "conversation_deleted"
    if path == "/v1/files" and method == "POST":
        return "file_upload"
    if method == "DELETE" and path.startswith("/v1/files/"):
        return "file_deleted"
    if method != "POST" or path != "/v1/responses" or not isinstance(body, dict):
        return "other"
    tools = body.get("tools")
    if isinstance(tools, list) and any(
        isinstance(tool, dict) and tool.get("type") == "image_generation" for tool in tools
    ):
        return "generation"
    text = body.get("text")
    text_format = text.get("format") if isinstance(text, dict) else None
    if isinstance(text_format, dict) and text_format.get("type") == "json_schema":
        name = text_format.get("name")
        return {"checklist": "checklist", "pairwise_comparison": "comparison"}.get(
            str(name), "evaluation"
        )
    return "refinement"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def last_input_text(body: dict[str, Any]) -> str:
    """The last text the caller sent (``input`` as a string, or items with string/list content)."""
    found = ""
    items = body.get("input")
    for item in [items] if isinstance(items, str) else items or []:
        content = item.get("content") if isinstance(item, dict) else item
        for part in [content] if isinstance(content, str) else content or []:
            if isinstance(part, str):
                found = part
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                found = part["text"]
    return found


def _grain_rgba(image: Image.Image) -> Image.Image:
    rgb = Image.blend(image.convert("RGB"), Image.effect_noise(image.size, 40).convert("RGB"), 0.25)
    rgb.putalpha(image.getchannel("A"))
    return rgb


@functools.lru_cache(maxsize=64)
def draw_image(
    number: int, size: str, output_format: str, background: str, *, textured: bool = False
) -> bytes:
    """A real image of ``size`` ("WxH" or "auto" = 1024x1024) in ``output_format``.

    A ring whose colour and radius depend on ``number``, on a fully transparent background (RGBA)
    if ``background == "transparent"``, else on an opaque one (RGB).
    """
    match = _SIZE.match("1024x1024" if size == "auto" else size)
    if not match or output_format not in _PIL_FORMATS:
        raise FakeAPIError(400, f"Invalid image size or format: {size!r}, {output_format!r}.")
    width, height = int(match[1]), int(match[2])
    colour = _PALETTE[number % len(_PALETTE)]
    if background == "transparent":
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        fill: tuple[int, ...] = (*colour, 255)
    else:
        image = Image.new("RGB", (width, height), (245, 240 - 10 * (number % 8), 230))
        fill = colour
    radius = min(width, height) * (20 + 3 * (number % 7)) // 100
    cx, cy = width // 2, height // 2
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    line = max(1, radius // 10)
    ImageDraw.Draw(image).ellipse(box, fill=fill, outline=(255, 255, 255), width=line)
    if textured:  # photo-like grain, so encoded sizes are those of real images
        grain = Image.effect_noise((width, height), 40).convert(image.mode)
        image = Image.blend(image, grain, 0.25) if image.mode == "RGB" else _grain_rgba(image)
    buffer = io.BytesIO()
    options = {"compress_level": 1} if output_format == "png" else {}
    image.save(buffer, format=_PIL_FORMATS[output_format], **options)
    return buffer.getvalue()


def dated(model: str) -> str:
    """The snapshot name the API answers with (``gpt-5.5`` -> ``gpt-5.5-2026-08-06``)."""
    return model if _DATED.search(model) else f"{model}-{SNAPSHOT_DATE}"


def input_images(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ``input_image`` part of a request's input."""
    items = body.get("input")
    found = []
    for item in items if isinstance(items, list) else []:
        content = item.get("content") if isinstance(item, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "input_image":
                found.append(part)
    return found


def image_tool_usage(body: dict[str, Any], tool: dict[str, Any], images: int) -> dict[str, Any]:
    """``tool_usage`` of a generation: text and image input tokens, image output tokens."""
    text_tokens = len(last_input_text(body).split())
    image_tokens = INPUT_IMAGE_TOKENS * len(input_images(body))
    size = str(tool.get("size", "auto"))
    match = _SIZE.match("1024x1024" if size == "auto" else size)
    area = int(match[1]) * int(match[2]) if match else 1024 * 1024
    per_image = IMAGE_OUTPUT_TOKENS[str(tool.get("quality", "auto"))] * area // (1024 * 1024)
    output_tokens = per_image * images
    return {
        "image_gen": {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"image_tokens": image_tokens, "text_tokens": text_tokens},
            "output_tokens": output_tokens,
            "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
            "total_tokens": text_tokens + image_tokens + output_tokens,
        },
        "web_search": {"num_requests": 0},
    }


def image_call(
    image: bytes, revised_prompt: str | None = None, action: str | None = None
) -> dict[str, Any]:
    """An ``image_generation_call`` output item, with the fields the SDK reads."""
    call: dict[str, Any] = {
        "type": "image_generation_call",
        "id": new_id("ig"),
        "status": "completed",
        "result": base64.b64encode(image).decode("ascii"),
    }
    if revised_prompt is not None:
        call["revised_prompt"] = revised_prompt
    if action is not None:
        call["action"] = action
    return call


def moderation_call(categories: list[str], stage: str = "input") -> dict[str, Any]:
    """A failed ``image_generation_call`` blocked by moderation, with its categories."""
    return {
        "type": "image_generation_call",
        "id": new_id("ig"),
        "status": "failed",
        "result": None,
        "error": {
            "code": "moderation_blocked",
            "message": "Your request was rejected by the safety system.",
            "type": "image_generation_user_error",
            "param": None,
            "moderation_details": {"categories": categories, "moderation_stage": stage},
        },
    }


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def refusal(text: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": text}


def message(*content: dict[str, Any]) -> dict[str, Any]:
    """An assistant ``message`` output item."""
    return {
        "type": "message",
        "id": new_id("msg"),
        "status": "completed",
        "role": "assistant",
        "content": list(content),
    }


def response_object(
    body: dict[str, Any], output: list[dict[str, Any]], conversation_id: str | None
) -> dict[str, Any]:
    """A completed ``Response`` for request ``body``, with every field the spec requires."""
    now = int(time.time())
    parallel = body.get("parallel_tool_calls")
    return {
        "id": new_id("resp"),
        "object": "response",
        "created_at": now,
        "status": "completed",
        "completed_at": now,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "model": dated(str(body.get("model", "gpt-5"))),
        "output": output,
        "parallel_tool_calls": parallel if isinstance(parallel, bool) else True,
        "previous_response_id": body.get("previous_response_id"),
        "conversation": {"id": conversation_id} if conversation_id else None,
        "metadata": body.get("metadata") or {},
        "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice") or "auto",
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "usage": _USAGE,
    }
