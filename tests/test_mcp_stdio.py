"""The real ``agentic-image-gen mcp`` subprocess over stdio, through the SDK's client: a run
with progress and a preview, nothing but protocol on stdout, and a run still waiting when the
client leaves kept in its folder as interrupted (resumable)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def status_of(run_dir: str) -> str:
    status: str = json.loads((Path(run_dir) / "run.json").read_text())["status"]
    return status


async def test_the_stdio_server_runs_the_loop_and_speaks_only_protocol(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photo = tmp_path / "ring.jpg"
    with Image.open(ROOT / "examples" / "ring.jpg") as ring:
        ring.thumbnail((384, 384))
        ring.save(photo, quality=90)
    env = {name: value for name, value in os.environ.items() if name != "OPENAI_API_KEY"}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentic_image_gen", "mcp", "--out", str(tmp_path / "runs")],
        env=env,
        cwd=str(ROOT),
    )
    arguments: dict[str, Any] = {"prompt": "gold ring", "refs": [str(photo)],
                                 "size": "512x512", "segmenter": "classical"}
    progress: list[str] = []

    async def noted(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    caplog.set_level(logging.WARNING)
    with (tmp_path / "stderr.txt").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            done = await client.call_tool("generate_image", arguments, progress_callback=noted)
            waiting = await client.call_tool("generate_image", arguments | {"review": "final"})
    assert not done.is_error and done.structured_content is not None
    assert done.structured_content["status"] == "completed"
    assert sum(isinstance(block, types.ImageContent) for block in done.content) == 1
    assert progress[0].startswith("run ") and any(" scored " in line for line in progress)
    # The client left while the second run waited for its final review: the server stopped
    # it as interrupted, in its folder, for resume_run.
    assert waiting.structured_content is not None
    assert waiting.structured_content["status"] == "waiting"
    assert status_of(waiting.structured_content["run_dir"]) == "interrupted"
    # Every line on stdout was a protocol message the client could parse.
    unparsed = [r for r in caplog.records if "Failed to parse JSONRPC" in r.getMessage()]
    assert unparsed == []
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
