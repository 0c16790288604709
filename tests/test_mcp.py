"""The MCP server through the SDK's own client, in-process, offline with the local providers:
the tools and their schemas, progress, a preview with links that resolve to the full files,
runs longer than a call, runs that outlive their client, cancel and resume, reviews by tool
and by elicitation, and bad input as tool errors after which the server still answers."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from PIL import Image

from agentic_image_gen import Session
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.frontends.mcp.arguments import Policy, RunArguments, config_of
from agentic_image_gen.frontends.mcp.runbook import RunBook
from agentic_image_gen.frontends.mcp.server import build_server
from agentic_image_gen.frontends.mcp.thumbnails import MAX_PREVIEW_BYTES, thumbnail

ROOT = Path(__file__).resolve().parent.parent
RING = ROOT / "examples" / "ring.jpg"
TOOLS = {"generate_image", "start_run", "wait_run", "get_run", "cancel_run", "resume_run",
         "review_run", "list_runs", "list_profiles"}
MAX_RESULT_BYTES = 100_000


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample ring, smaller: every run here cuts and scores it."""
    path = tmp_path_factory.mktemp("photo") / "ring.jpg"
    with Image.open(RING) as ring:
        ring.thumbnail((384, 384))
        ring.save(path, quality=90)
    return path


@pytest.fixture
def fast(photo: Path) -> dict[str, Any]:
    """A run of small images with the classical cut-out: two rounds in about a second."""
    return {"prompt": "gold ring", "refs": [str(photo)], "size": "512x512",
            "segmenter": "classical"}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[MCPServer[Any], Path]]:
    """A server over its own Session with no API key (the local providers), runs under
    tmp_path/runs."""
    out = (tmp_path / "runs").resolve()
    async with Session(env={}) as session:
        book = RunBook(session, Policy(out_dir=out))
        yield build_server(book), out
        await book.close()


def kinds(result: types.CallToolResult) -> list[str]:
    return [block.type for block in result.content]


def images(result: types.CallToolResult) -> list[Image.Image]:
    return [
        Image.open(io.BytesIO(base64.b64decode(block.data)))
        for block in result.content
        if isinstance(block, types.ImageContent)
    ]


def links(result: types.CallToolResult) -> list[types.ResourceLink]:
    return [block for block in result.content if isinstance(block, types.ResourceLink)]


def text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


def journal(run_dir: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((Path(run_dir) / "run.json").read_text())
    return loaded


def read_bytes(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def wire_size(result: types.CallToolResult) -> int:
    return len(result.model_dump_json(by_alias=True, exclude_none=True).encode())


async def test_the_tools_are_listed_with_their_schemas(served: tuple[MCPServer[Any], Path]) -> None:
    server, _ = served
    async with Client(server) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == TOOLS
    generate = listed["generate_image"]
    schema = generate.input_schema
    assert schema["required"] == ["prompt"]
    assert set(RunArguments.model_fields) | {"wait_s"} == set(schema["properties"])
    assert schema["properties"]["quality"]["enum"] == ["auto", "low", "medium", "high", "xhigh",
                                                       "max"]
    assert schema["properties"]["refs"] == {
        "default": [], "type": "array", "items": {"type": "string"}, "title": "Refs",
        "description": RunArguments.model_fields["refs"].description,
    }
    assert schema["properties"]["wait_s"]["default"] == 50
    assert generate.output_schema is not None
    assert {"run_id", "best_image_url", "status", "run_dir", "review"} <= set(
        generate.output_schema["properties"]
    )
    assert listed["start_run"].output_schema["required"] == ["run_id", "status", "run_dir"]
    assert listed["review_run"].input_schema["required"] == ["run_id"]
    assert {"pick", "notes", "prompt", "accept"} <= set(listed["review_run"].input_schema[
        "properties"])


async def test_generate_reports_progress_and_answers_with_a_preview_links_and_the_output(
    served: tuple[MCPServer[Any], Path], fast: dict[str, Any],
) -> None:
    server, out = served
    progress: list[tuple[float, str]] = []

    async def noted(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message or ""))

    async with Client(server) as client:
        result = await client.call_tool("generate_image", fast, progress_callback=noted)
        assert not result.is_error, text(result)
        output = result.structured_content
        assert output is not None
        assert output["status"] == "completed" and output["stop_reason"] == "threshold"
        # The structured content is the run's output (the CLI's JSON), with its id.
        run_dir = Path(output["run_dir"])
        assert run_dir.parent == out and output["run_id"] == run_dir.name
        async with Session(env={}) as session:
            shown = session.output(run_dir).to_json()
        assert {k: v for k, v in output.items() if k not in ("run_id", "review")} == shown
        assert json.loads(result.content[-1].text) == output  # type: ignore[union-attr]
        # One preview: a JPEG at most 512 px and under 100 KB; never the full image inline.
        (preview,) = images(result)
        assert preview.format == "JPEG" and max(preview.size) <= 512
        assert sum(len(block.data) for block in result.content
                   if isinstance(block, types.ImageContent)) * 3 / 4 < 100_000
        assert wire_size(result) < MAX_RESULT_BYTES
        # Links to the full files, served as resources, byte for byte.
        linked = {link.description: link for link in links(result)}
        best = linked["the best image, full size"]
        full = read_bytes(output["best_image_url"])
        assert best.mime_type == "image/png" and best.size == len(full)
        read = (await client.read_resource(best.uri)).contents[0]
        assert isinstance(read, types.BlobResourceContents)
        assert base64.b64decode(read.blob) == full
        report = (await client.read_resource(linked["the run's HTML report"].uri)).contents[0]
        assert isinstance(report, types.TextResourceContents)
        assert report.text.encode() == read_bytes(output["report"])
    # Progress: the start, each stage and each score (round, score, cost so far), the end.
    messages = [message for _, message in progress]
    assert [done for done, _ in progress] == list(range(1, len(progress) + 1))
    assert messages[0].startswith(f"run {output['run_id']} started")
    scored = [m for m in messages if " scored " in m]
    assert len(scored) == output["iterations"] == 2
    assert scored[0].startswith("round 1/3 · image #1 scored") and "$0.000 so far" in scored[0]
    assert sum("generating" in m for m in messages) == sum("evaluating" in m for m in messages) == 2
    assert messages[-1].startswith(f"run {output['run_id']} finished: reached the threshold")


async def test_a_run_longer_than_wait_s_answers_with_its_id_and_ends_under_wait_run(
    served: tuple[MCPServer[Any], Path], fast: dict[str, Any],
) -> None:
    server, _ = served
    ring = read_bytes(fast["refs"][0])
    uri = "data:image/jpeg;base64," + base64.b64encode(ring).decode()
    async with Client(server) as client:
        early = await client.call_tool("generate_image", fast | {"refs": [uri], "wait_s": 0})
        assert not early.is_error, text(early)
        state = early.structured_content
        assert state is not None and state["status"] == "running"
        assert images(early) == [] and "wait_run" in text(early)
        done = await client.call_tool("wait_run", {"run_id": state["run_id"]})
        assert done.structured_content is not None
        assert done.structured_content["status"] == "completed"
        assert len(images(done)) == 1
        # The data URI's photo is the run's reference, kept in its folder.
        (kept,) = journal(state["run_dir"])["references"]
        assert read_bytes(Path(state["run_dir"]) / kept["path"]) == ring


async def test_start_run_answers_at_once_and_runs_outlive_their_client(
    served: tuple[MCPServer[Any], Path], fast: dict[str, Any], tmp_path: Path,
) -> None:
    server, out = served
    elsewhere = tmp_path / "elsewhere"
    async with Client(server) as client:
        first = await client.call_tool("start_run", fast | {"out_dir": str(elsewhere)})
        second = await client.call_tool("start_run", fast | {"prompt": "silver ring"})
    handles = [first.structured_content, second.structured_content]
    assert all(h is not None and set(h) == {"run_id", "status", "run_dir"} for h in handles)
    assert [h["status"] for h in handles] == ["running", "running"]  # type: ignore[index]
    ids = [h["run_id"] for h in handles]  # type: ignore[index]
    assert [Path(h["run_dir"]).parent for h in handles] == [elsewhere, out]  # type: ignore[index]
    # The client that started them is gone; another one waits for each by id.
    async with Client(server) as client:
        done = [await client.call_tool("wait_run", {"run_id": run_id}) for run_id in ids]
        listed = await client.call_tool("list_runs", {})
        again = await client.call_tool("get_run", {"run_id": ids[0]})
    assert [d.structured_content["status"] for d in done] == ["completed"] * 2  # type: ignore[index]
    assert listed.structured_content is not None
    assert {row["run_id"] for row in listed.structured_content["runs"]} == set(ids)
    assert again.structured_content == done[0].structured_content
    # Another server on the same --out (a restart) finds the run there by its id, and only it.
    async with Session(env={}) as session:
        restarted = build_server(RunBook(session, Policy(out_dir=out)))
        async with Client(restarted) as client:
            found = await client.call_tool("wait_run", {"run_id": ids[1]})
            unknown = await client.call_tool("wait_run", {"run_id": ids[0]})
    assert found.structured_content is not None
    assert found.structured_content["status"] == "completed" and len(images(found)) == 1
    assert unknown.is_error and f"no run '{ids[0]}' here" in text(unknown)


async def test_review_by_tool_cancel_and_resume(
    served: tuple[MCPServer[Any], Path], fast: dict[str, Any]
) -> None:
    server, _ = served
    async with Client(server) as client:
        asked = await client.call_tool("generate_image",
                                       fast | {"review": "rounds", "candidates": 2})
        state = asked.structured_content
        assert state is not None and state["status"] == "waiting"
        review = state["review"]
        assert review["kind"] == "round" and review["round"] == 1
        assert [c["iteration"] for c in review["candidates"]] == [1, 2]
        assert all(c["uri"] and c["score"] is not None for c in review["candidates"])
        assert len(images(asked)) == 2 and all(max(i.size) <= 256 for i in images(asked))
        assert len(links(asked)) == 2
        run_id = state["run_id"]

        wrong = await client.call_tool("review_run", {"run_id": run_id, "pick": 9})
        assert wrong.is_error and "pick 9 is not one of the candidates (1, 2)" in text(wrong)
        clash = await client.call_tool("review_run", {"run_id": run_id, "retry": True,
                                                      "accept": True})
        assert clash.is_error and "retry means no candidate is good" in text(clash)
        picked = await client.call_tool(
            "review_run", {"run_id": run_id, "pick": 1, "notes": "warmer light"})
        assert picked.structured_content is not None
        assert picked.structured_content["review"]["round"] == 2

        stopped = await client.call_tool("cancel_run", {"run_id": run_id})
        assert stopped.structured_content is not None
        assert stopped.structured_content["status"] == "interrupted"
        assert journal(state["run_dir"])["status"] == "interrupted"
        # Resumed, the run asks round 2's question again; accepted, it ends.
        resumed = await client.call_tool("resume_run", {"run_id": run_id})
        assert resumed.structured_content is not None
        assert resumed.structured_content["review"]["round"] == 2
        accepted = await client.call_tool("review_run", {"run_id": run_id, "accept": True})
    assert accepted.structured_content is not None
    assert accepted.structured_content["status"] == "completed"
    assert accepted.structured_content["stop_reason"] == "accepted"
    reviews = journal(state["run_dir"])["result"]["reviews"]
    assert [(r["round"], r["pick"], r["accept"], r["notes"], r["by"]) for r in reviews] == [
        (1, 1, False, "warmer light", "mcp"),
        (2, None, True, "", "mcp"),
    ]


async def test_review_by_elicitation_either_way_and_the_tool_when_the_user_declines(
    served: tuple[MCPServer[Any], Path], fast: dict[str, Any],
) -> None:
    """Asked in the middle of the call (the handshake protocols), or as the call's answer
    that the client answers by calling again (2026-07-28); declined, review_run remains."""
    server, _ = served
    forms: list[dict[str, Any]] = []

    async def choose_first(context: Any, params: Any) -> types.ElicitResult:
        forms.append(params.requested_schema)
        first = params.requested_schema["properties"]["choice"]["enum"][0]
        return types.ElicitResult(action="accept", content={"choice": first, "accept": True})

    async def decline(context: Any, params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    arguments = fast | {"review": "rounds", "candidates": 2}
    for mode in ("legacy", "2026-07-28"):
        async with Client(server, mode=mode, elicitation_callback=choose_first) as client:
            chosen = await client.call_tool("generate_image", arguments)
        assert chosen.structured_content is not None, text(chosen)
        assert chosen.structured_content["stop_reason"] == "accepted", mode
        assert forms[-1]["properties"]["choice"]["enum"] == [
            *(f"image #{i} (score {s})" for i, s in zip((1, 2), chosen.structured_content[
                "score_history"], strict=True)),
            "none of them: play the round again",
        ]
        (record,) = journal(chosen.structured_content["run_dir"])["result"]["reviews"]
        assert (record["pick"], record["accept"], record["by"]) == (1, True, "mcp-elicitation")
    assert len(forms) == 2

    async with Client(server, elicitation_callback=decline) as client:
        declined = await client.call_tool("generate_image", arguments)
        assert declined.structured_content is not None
        assert declined.structured_content["status"] == "waiting"
        run_id = declined.structured_content["run_id"]
        answered = await client.call_tool("review_run", {"run_id": run_id, "accept": True})
    assert answered.structured_content is not None
    assert answered.structured_content["stop_reason"] == "accepted"


async def test_bad_input_is_a_tool_error_and_the_server_still_answers(
    served: tuple[MCPServer[Any], Path], fast: dict[str, Any],
) -> None:
    server, out = served
    not_an_image = "data:image/png;base64," + base64.b64encode(b"hello").decode()
    plain = io.BytesIO()
    Image.new("RGB", (256, 256), (240, 240, 240)).save(plain, "PNG")
    backdrop = "data:image/png;base64," + base64.b64encode(plain.getvalue()).decode()
    bad = {
        "missing reference": (fast | {"refs": ["/no/such/ring.jpg"]},
                              "reference '/no/such/ring.jpg' does not exist"),
        "out of range": (fast | {"threshold": 300, "size": "7x7"},
                         "threshold must be between 0 and 100"),
        "not a choice": (fast | {"format": "gif"}, "format: Input should be 'png'"),
        "no image": (fast | {"refs": [not_an_image]}, "in-memory reference #1"),
        # found only when the run cuts the product out, still before its folder
        "no product": (fast | {"refs": [backdrop]}, "in-memory reference #1': "),
        "bad base64": (fast | {"refs": ["data:image/png;base64,@@@"]}, "refs[0]"),
        "no provider": (fast | {"provider": "nope"}, "provider 'nope' is not an installed"),
    }
    async with Client(server) as client:
        for what, (arguments, expected) in bad.items():
            result = await client.call_tool("generate_image", arguments)
            assert result.is_error, what
            assert expected in text(result) and "\n" not in text(result), text(result)
        assert "size " in text(await client.call_tool("start_run", fast | {"size": "7x7"}))
        for run_id in ("no-such-run", "../runs", ""):
            missing = await client.call_tool("get_run", {"run_id": run_id})
            assert missing.is_error and "run" in text(missing)
        profiles = await client.call_tool("list_profiles", {})
    assert not profiles.is_error and profiles.structured_content is not None
    assert "amazon-main" in [row["name"] for row in profiles.structured_content["profiles"]]
    assert not out.exists()  # no run folder for any of them


def test_remote_clients_reach_only_what_is_inside_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "photos").mkdir(parents=True)
    inside = Policy(out_dir=tmp_path / "runs", root=root, confined=True)
    config = config_of(RunArguments(prompt="ring", refs=["photos/ring.jpg"], out_dir="made"),
                       inside)
    assert config.refs == (str(root / "photos" / "ring.jpg"),) and config.out_dir == root / "made"
    for refs, out_dir, expected in (
        (["../ring.jpg"], None, "refs[0] '../ring.jpg' is outside the server's --root"),
        ([str(RING)], None, "is outside the server's --root"),
        ([], "/tmp", "out_dir '/tmp' is outside"),
    ):
        with pytest.raises(InputError, match="outside") as caught:
            config_of(RunArguments(prompt="ring", refs=refs, out_dir=out_dir), inside)
        assert expected in str(caught.value)
    nowhere = Policy(out_dir=tmp_path / "runs", confined=True)
    with pytest.raises(InputError, match="takes no paths from remote clients"):
        config_of(RunArguments(prompt="ring", refs=["ring.jpg"]), nowhere)
    # URLs and data: URIs are not paths: the engine's own rules apply to them.
    remote = config_of(RunArguments(prompt="ring", refs=["https://example.com/r.jpg",
                                                        "data:image/png;base64,aGk="]), nowhere)
    assert remote.refs == ("https://example.com/r.jpg", b"hi")


def test_a_preview_is_a_small_jpeg_on_white_however_hard_the_image_compresses(
    tmp_path: Path,
) -> None:
    noise = Image.effect_noise((1024, 768), 100).convert("RGB")
    image = noise.convert("RGBA")
    image.putalpha(Image.new("L", image.size, 255))
    image.paste((0, 0, 0, 0), (0, 0, 200, 768))  # a transparent band on the left
    path = tmp_path / "noisy.png"
    image.save(path)
    data = thumbnail(path)
    preview = Image.open(io.BytesIO(data))
    assert preview.format == "JPEG" and max(preview.size) <= 512
    assert len(data) <= MAX_PREVIEW_BYTES
    assert preview.size[0] / preview.size[1] == pytest.approx(1024 / 768, rel=0.02)
    corner = preview.convert("RGB").getpixel((2, preview.size[1] // 2))
    assert min(corner) > 240  # transparent pixels are shown on white
