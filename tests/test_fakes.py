"""The fake OpenAI server, exercised through the real `openai` SDK and checked against the spec."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
import pytest_asyncio
from fakes import FakeOpenAIServer, OpenAPIValidator, SpecViolation
from PIL import Image

EVAL_FORMAT: dict[str, Any] = {
    "format": {
        "type": "json_schema",
        "name": "image_evaluation",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "score": {"type": "integer", "minimum": 0, "maximum": 100},
                "feedback": {"type": "string"},
            },
            "required": ["score", "feedback"],
            "additionalProperties": False,
        },
    }
}


def _data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 180, 40)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _image_input(detail: str | None = "high") -> list[dict[str, Any]]:
    image: dict[str, Any] = {"type": "input_image", "image_url": _data_url()}
    if detail is not None:
        image["detail"] = detail
    text = {"type": "input_text", "text": "A gold ring with a sapphire, studio light."}
    return [{"role": "user", "content": [text, image]}]


def _image_tool(**overrides: Any) -> dict[str, Any]:
    tool = {
        "type": "image_generation",
        "model": "gpt-image-2.5-sunburst",
        "quality": "high",
        "size": "1024x1536",
        "background": "transparent",
        "output_format": "png",
    }
    return {**tool, **overrides}


@pytest.fixture(autouse=True)
def _needs_spec(openapi_validator: OpenAPIValidator) -> None:
    """These tests check the fake's spec validation itself: without the spec they skip."""


@pytest_asyncio.fixture
async def client(fake_openai: FakeOpenAIServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        api_key="test-key", base_url=fake_openai.base_url, max_retries=0
    ) as sdk_client:
        yield sdk_client


async def _generate(client: openai.AsyncOpenAI, **kwargs: Any) -> Any:
    params: dict[str, Any] = {"model": "gpt-5", "input": _image_input(), "tools": [_image_tool()]}
    return await client.responses.create(**{**params, **kwargs})


def _decode(response: Any) -> Image.Image:
    calls = [item for item in response.output if item.type == "image_generation_call"]
    assert len(calls) == 1
    return Image.open(io.BytesIO(base64.b64decode(calls[0].result)))


@pytest.mark.asyncio
async def test_generation_transparent_png_and_previous_response_id(
    client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer
) -> None:
    first = await _generate(client)
    assert first.id.startswith("resp_") and first.status == "completed"
    image = _decode(first)
    assert (image.format, image.size, image.mode) == ("PNG", (1024, 1536), "RGBA")
    assert image.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert image.getpixel((512, 768))[3] == 255  # type: ignore[index]

    second = await _generate(client, previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert _decode(second).tobytes() != image.tobytes()  # images differ from call to call

    with pytest.raises(openai.BadRequestError, match="Previous response with id 'resp_nope'"):
        await _generate(client, previous_response_id="resp_nope")
    assert len(fake_openai.generation_requests()) == 3
    sent = fake_openai.generation_requests()[0]
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.body["tools"][0]["model"] == "gpt-image-2.5-sunburst"
    assert fake_openai.violations == []


@pytest.mark.asyncio
@pytest.mark.parametrize(("output_format", "pil_format"), [("jpeg", "JPEG"), ("webp", "WEBP")])
async def test_jpeg_and_webp(
    client: openai.AsyncOpenAI, output_format: str, pil_format: str
) -> None:
    tool = _image_tool(size="1536x1024", background="opaque", output_format=output_format)
    image = _decode(await _generate(client, tools=[tool]))
    assert (image.format, image.size, image.mode) == (pil_format, (1536, 1024), "RGB")


@pytest.mark.asyncio
async def test_auto_size_is_square(client: openai.AsyncOpenAI) -> None:
    image = _decode(await _generate(client, tools=[_image_tool(size="auto", background="auto")]))
    assert image.size == (1024, 1024)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"extra_body": {"bogus": 1}}, "Unknown parameter: 'bogus'"),
        ({"tools": [_image_tool(bogus_key=True)]}, "Unknown parameter: 'tools[0].bogus_key'"),
        ({"input": _image_input(detail=None)}, "'detail' is a required property"),
        ({"tools": [_image_tool(quality="ultra")]}, "'ultra' is not one of"),
    ],
    ids=["unknown-top-level", "unknown-tool-key", "input-image-without-detail", "bad-enum"],
)
async def test_spec_violations_are_rejected_and_recorded(
    client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer, kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await _generate(client, **kwargs)
    assert needle in caught.value.message
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert fake_openai.requests[-1].status == 400
    violations = fake_openai.take_violations()
    assert len(violations) == 1 and needle in violations[0]


@pytest.mark.asyncio
async def test_evaluation_returns_scripted_scores_in_order(
    client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.script_scores([60, 80, 95])
    scores = []
    for _ in range(4):
        response = await client.responses.create(
            model="gpt-5",
            input=_image_input(),
            text=EVAL_FORMAT,  # type: ignore[arg-type]
        )
        reply = json.loads(response.output_text)
        assert set(reply) == {"score", "feedback"}
        scores.append(reply["score"])
    assert scores == [60, 80, 95, 95]
    assert len(fake_openai.evaluation_requests()) == 4
    assert fake_openai.generation_requests() == fake_openai.refinement_requests() == []


@pytest.mark.asyncio
async def test_evaluator_raw_reply_and_default(
    client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer
) -> None:
    async def evaluate() -> str:
        response = await client.responses.create(model="gpt-5", input="x", text=EVAL_FORMAT)  # type: ignore[arg-type]
        return response.output_text

    assert json.loads(await evaluate())["score"] == 50
    fake_openai.script_evaluator_replies([70, "not json {"])
    assert json.loads(await evaluate())["score"] == 70
    assert await evaluate() == "not json {"


@pytest.mark.asyncio
async def test_conversation_and_refinement(
    client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer
) -> None:
    conversation = await client.conversations.create()
    assert conversation.id.startswith("conv_") and conversation.object == "conversation"
    response = await client.responses.create(
        model="gpt-5", input="make it shinier", conversation=conversation.id
    )
    assert response.output_text == "Refined prompt #1: make it shinier"
    assert response.conversation is not None and response.conversation.id == conversation.id
    with pytest.raises(openai.BadRequestError, match="Conversation with id 'conv_nope'"):
        await client.responses.create(model="gpt-5", input="x", conversation="conv_nope")
    assert [r.kind for r in fake_openai.requests] == ["conversation", "refinement", "refinement"]
    assert len(fake_openai.requests_to("/v1/conversations")) == 1


@pytest.mark.asyncio
async def test_generation_script(client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script_generation(["refusal", "text_only", "image"])
    refusal, text_only, image = [await _generate(client) for _ in range(3)]
    assert [item.type for item in refusal.output] == ["message"]
    assert refusal.output[0].content[0].type == "refusal"
    assert [item.type for item in text_only.output] == ["message"]
    assert text_only.output_text
    assert _decode(image).size == (1024, 1536)
    assert _decode(await _generate(client)).size == (1024, 1536)  # script used up -> "image"


@pytest.mark.asyncio
async def test_concurrent_requests_and_keep_alive(
    client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer
) -> None:
    await asyncio.gather(*(_generate(client) for _ in range(4)))
    for _ in range(3):
        await client.responses.create(model="gpt-5", input="again")
    sequential = fake_openai.refinement_requests()
    assert len({r.client_port for r in sequential}) == 1  # one pooled connection, reused


def test_auth_and_unknown_paths(fake_openai: FakeOpenAIServer) -> None:
    with httpx.Client(base_url=fake_openai.base_url) as http:
        unauthorised = http.post("/responses", json={"model": "gpt-5", "input": "x"})
        assert unauthorised.status_code == 401
        assert unauthorised.json()["error"]["type"] == "invalid_request_error"
        missing = http.get("/models", headers={"Authorization": "Bearer k"})
        assert missing.status_code == 404
        assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    assert fake_openai.violations == []


def test_validator_direct(openapi_validator: OpenAPIValidator) -> None:
    names = openapi_validator.schema_names()
    for name in ("CreateResponse", "Response", "CreateConversationBody", "ConversationResource"):
        assert name in names
    openapi_validator.validate_request("CreateConversationBody", {})
    with pytest.raises(SpecViolation, match="'metadata' is a required property"):
        openapi_validator.validate_response("ConversationResource", {"id": "c", "object": "x"})
    assert "detail" in openapi_validator.property_names("InputImageContent")


def test_validator_without_spec(tmp_path: Any) -> None:
    validator = OpenAPIValidator(tmp_path / "missing.yaml")
    assert not validator.available
    assert validator.unavailable_reason == f"OpenAPI spec not found at {tmp_path / 'missing.yaml'}"
    with FakeOpenAIServer(validator) as server:  # an unavailable validator is simply not used
        with httpx.Client() as http:
            reply = http.post(
                f"{server.base_url}/conversations", json={}, headers={"Authorization": "Bearer k"}
            )
        assert reply.json()["object"] == "conversation"


def test_the_sdk_overlay_adds_only_what_the_sdk_knows(openapi_validator: OpenAPIValidator) -> None:
    """xhigh is accepted (the SDK lists it), tool_usage is checked against the SDK's shape."""
    quality = openapi_validator._schemas()["ImageGenTool"]["properties"]["quality"]["enum"]
    assert {"xhigh", "max"} <= set(quality) and "ultra" not in quality
    assert "tool_usage" in openapi_validator.property_names("Response")
    assert "moderation_details" in str(openapi_validator._schemas()["ImageGenToolCall"])
    from fakes.openai_payloads import response_object

    good = response_object({"model": "gpt-5.5"}, [], None)
    good["tool_usage"] = {
        "image_gen": {
            "input_tokens": 3,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": 3},
            "output_tokens": 272,
            "total_tokens": 275,
        },
        "web_search": {"num_requests": 0},
    }
    openapi_validator.validate_response("Response", good)
    good["tool_usage"]["image_gen"]["input_tokens"] = "many"
    with pytest.raises(SpecViolation, match="tool_usage"):
        openapi_validator.validate_response("Response", good)
