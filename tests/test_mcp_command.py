"""``agentic-image-gen mcp``: the real subprocess over stdio through the SDK's client (a run
with progress and a preview, nothing but protocol on stdout, a run still waiting when the
client leaves kept in its folder as interrupted), the checks before it serves, and the token
an HTTP server on a non-loopback host asks for."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from PIL import Image

from agentic_image_gen.frontends import cli
from agentic_image_gen.frontends.mcp.command import BearerToken
from agentic_image_gen.frontends.mcp.server import TOOLS

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


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--http", "--host", "0.0.0.0"], "set AIG_MCP_TOKEN to a secret"),
        (["--root", "."], "--root and --port need --http"),
        (["--http", "--root", "no-such-folder"], "--root no-such-folder is not a folder"),
    ],
)
def test_the_server_refuses_to_start_unsafely_in_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIG_MCP_TOKEN", raising=False)
    assert cli.main(["mcp", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and expected in captured.err


async def test_an_http_request_without_the_token_is_refused() -> None:
    reached: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    guarded = BearerToken(app, "s3cret")
    for headers in ([], [(b"authorization", b"Bearer wrong")], [(b"authorization", b"s3cret")]):
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        await guarded({"type": "http", "headers": headers}, None, send)
        assert sent[0]["status"] == 401
    await guarded({"type": "http", "headers": [(b"authorization", b"Bearer s3cret")]}, None, None)
    await guarded({"type": "lifespan"}, None, None)
    assert reached == ["http", "lifespan"]


def test_the_readme_configures_this_server_and_names_every_tool() -> None:
    section = (ROOT / "README.md").read_text().split("## Agents: the MCP server", 1)[1]
    section = section.split("\n## ", 1)[0]
    snippets = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]
    assert len(snippets) == 5
    for snippet in snippets:
        (server,) = (snippet.get("mcpServers") or snippet["servers"]).values()
        assert server.get("args", ["mcp"])[0] == "mcp" or server["url"].endswith("/mcp")
    listed = re.findall(r"^\| `(\w+)` \|", section, re.M)
    assert listed == [name for name, *_ in TOOLS]


def test_a_host_that_sends_sigterm_ends_the_stdio_server(tmp_path: Path) -> None:
    """Its stdin still open (a worker thread reads it), the server still ends at once."""
    server = subprocess.Popen(
        [sys.executable, "-m", "agentic_image_gen", "mcp", "--out", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        time.sleep(0.5)  # serving, or still starting: either way SIGTERM ends it
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=10)
        assert time.monotonic() - started < 3
    finally:
        server.kill()
        server.communicate()
    assert code == 128 + signal.SIGTERM
