"""The fake server's fault injection, seen through the real `openai` SDK (no retries unless said).

Kept apart from test_fakes.py, whose tests need the OpenAPI spec: these run without it (the
``fake_openai`` fixture still checks every request and refused reply when the spec is there).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
import pytest_asyncio
from fakes import FakeOpenAIServer

IMAGE_TOOL = {"type": "image_generation", "size": "1024x1024", "output_format": "png"}
EVAL_TEXT: Any = {
    "format": {
        "type": "json_schema",
        "name": "image_evaluation",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"score": {"type": "integer"}, "feedback": {"type": "string"}},
            "required": ["score", "feedback"],
            "additionalProperties": False,
        },
    }
}


@pytest_asyncio.fixture
async def client(fake_openai: FakeOpenAIServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        api_key="test-key", base_url=fake_openai.base_url, max_retries=0, timeout=0.5
    ) as sdk_client:
        yield sdk_client


async def _refine(client: openai.AsyncOpenAI) -> str:
    return (await client.responses.create(model="gpt-5", input="shinier")).output_text


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        ({"status": 429, "retry_after": 1}, openai.RateLimitError, "Rate limit reached"),
        ({"status": 500}, openai.InternalServerError, "server had an error"),
        ({"status": 503}, openai.InternalServerError, "overloaded"),
        ({"status": 400, "message": "Invalid 'size'."}, openai.BadRequestError, "Invalid 'size'"),
        ({"status": 401}, openai.AuthenticationError, "Incorrect API key provided"),
        ({"status": 408, "retry_after_ms": 5}, openai.APIStatusError, "Request timed out"),
        ({"drop": True}, openai.APIConnectionError, "Connection error"),
        ({"delay": 1.5}, openai.APITimeoutError, "timed out"),
        ({"malformed": True}, json.JSONDecodeError, "Unterminated string"),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else "",
)
async def test_each_fault_fails_one_request_then_service_resumes(
    fault: dict[str, Any],
    error: type[Exception],
    text: str,
    client: openai.AsyncOpenAI,
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.script_faults([fault])
    with pytest.raises(error, match=text) as caught:
        await _refine(client)
    if isinstance(caught.value, openai.APIStatusError):
        assert caught.value.status_code == fault["status"]
        headers = caught.value.response.headers
        assert headers.get("retry-after") == (
            str(fault["retry_after"]) if "retry_after" in fault else None
        )
        assert headers.get("retry-after-ms") == (
            str(fault["retry_after_ms"]) if "retry_after_ms" in fault else None
        )
    assert await _refine(client) == "Refined prompt #1: shinier"  # the fault was used up
    assert [(hit.kind, hit.fault) for hit in fake_openai.fault_hits] == [("refinement", fault)]
    assert fake_openai.faults.pending() == []


async def test_slow_reply_still_answers(
    client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.script_faults([{"delay": 0.3}])
    started = time.monotonic()
    assert await _refine(client) == "Refined prompt #1: shinier"
    assert time.monotonic() - started >= 0.3


async def test_refusals(client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script_faults([{"refusal": True, "kind": "generation"}, {"refusal": True}])
    generation = await client.responses.create(
        model="gpt-5",
        input="a ring",
        tools=[IMAGE_TOOL],  # type: ignore[list-item]
    )
    assert generation.status == "failed"
    assert generation.error is not None
    assert generation.error.code == "image_content_policy_violation"
    (call,) = generation.output
    assert (call.type, call.status, call.result) == ("image_generation_call", "failed", None)  # type: ignore[union-attr]
    evaluation = await client.responses.create(model="gpt-5", input="judge", text=EVAL_TEXT)
    assert evaluation.output[0].content[0].type == "refusal"  # type: ignore[union-attr,index]
    assert [hit.kind for hit in fake_openai.fault_hits] == ["generation", "evaluation"]


async def test_faults_match_kind_and_path_and_keep_scripts_in_step(
    client: openai.AsyncOpenAI, fake_openai: FakeOpenAIServer
) -> None:
    """A faulted evaluation does not use up a scripted score: the retry gets it."""
    fake_openai.script_scores([70, 90])
    fake_openai.script_faults(
        [
            {"status": 500, "kind": "evaluation"},
            {"status": 502, "path": "*", "kind": "conversation"},
        ]
    )
    assert await _refine(client) == "Refined prompt #1: shinier"  # not an evaluation: no fault
    with pytest.raises(openai.InternalServerError):
        await client.responses.create(model="gpt-5", input="judge", text=EVAL_TEXT)
    evaluation = await client.responses.create(model="gpt-5", input="judge", text=EVAL_TEXT)
    assert json.loads(evaluation.output_text)["score"] == 70
    with pytest.raises(openai.APIStatusError, match="502"):
        await client.conversations.create()
    assert [hit.path for hit in fake_openai.fault_hits] == ["/v1/responses", "/v1/conversations"]


async def test_sdk_retries_through_scripted_faults(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script_faults(
        [
            {"status": 429, "retry_after_ms": 10},
            {"status": 503, "retry_after_ms": 10},
            {"drop": True},
        ]
    )
    async with openai.AsyncOpenAI(
        api_key="test-key", base_url=fake_openai.base_url, max_retries=3
    ) as client:
        assert await _refine(client) == "Refined prompt #1: shinier"
    assert len(fake_openai.fault_hits) == 3
    assert [r.status for r in fake_openai.requests] == [429, 503, 0, 200]


def test_bad_fault_scripts_are_refused(fake_openai: FakeOpenAIServer) -> None:
    with pytest.raises(ValueError, match=r"unknown fault keys: \['stauts'\]"):
        fake_openai.script_faults([{"stauts": 500}])
    with pytest.raises(ValueError, match="must be an HTTP error code"):
        fake_openai.script_faults([{"status": 200}])
    assert fake_openai.faults.pending() == []
