"""Shared by the tests that drive the CLI in-process against the fake OpenAI server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fakes import FakeOpenAIServer

from agentic_image_gen.frontends import cli

# Looks enough like a key to be redacted wherever an API message echoes it.
TEST_KEY = "test-key-do-not-leak-123456"


@dataclass(frozen=True)
class RayCluster:
    """The session's Ray cluster: where to attach, and the OpenAI fake its workers call."""

    address: str
    openai: FakeOpenAIServer


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    """``cli.main`` with ``--quiet``: the exit code, stdout parsed as JSON ({} if empty), and
    stderr."""
    code = cli.main([*argv, "--quiet"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err


def input_images(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``input_image`` parts of a Responses request body, in order."""
    return [
        part
        for item in body["input"]
        if isinstance(item.get("content"), list)
        for part in item["content"]
        if part["type"] == "input_image"
    ]
