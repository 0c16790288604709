"""The web app against the loopback OpenAI fake: a region edit drawn on the page goes out as
``input_image_mask``; a server killed (SIGKILL) with one run going and one queued finishes
both when it starts again."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import expect
from fakes import FakeOpenAIServer, OpenAPIValidator
from helpers import TEST_KEY, input_images
from PIL import Image
from web_server import WebServer, start_run, wait_for

OPENAI = {"image": {"size": "1024x1024"}, "max_iterations": 1, "providers": {"provider": "openai"}}


@pytest.fixture(scope="module")
def fake(spec_validator: OpenAPIValidator) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(validator=spec_validator) as server:
        yield server
    assert server.violations == []


def environment(fake: FakeOpenAIServer) -> dict[str, str]:
    return {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.base_url,
            "AIG_SEGMENTER": "classical"}


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def test_a_region_drawn_on_the_page_is_sent_as_input_image_mask(
    fake: FakeOpenAIServer, browser_page: Any, tmp_path: Path
) -> None:
    server = WebServer(tmp_path / "runs", env=environment(fake), log=tmp_path / "web.log")
    try:
        with server.client() as client:
            run_id = start_run(client, **OPENAI)
            run = wait_for(client, run_id, "completed")
        page = browser_page
        page.goto(server.url)
        page.goto(f"{server.base}/r/{run_id}")
        edit = page.get_by_role("button", name="Edit a region of image 1")
        expect(edit).to_be_enabled()
        edit.click()
        canvas = page.locator("#editor-mask")
        expect(canvas).to_be_visible()
        page.wait_for_function("document.getElementById('editor-mask').width === 1024")
        box = canvas.bounding_box()
        page.get_by_label("Brush").fill("20")
        # One stroke across the top-left quarter of the picture.
        page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.2, steps=12)
        page.mouse.up()
        page.get_by_label("Describe the change").fill("make the stone a deeper blue")
        generations = len(fake.generation_requests())
        page.get_by_role("button", name="Apply edit").click()
        expect(page.locator("#rounds .card")).to_have_count(2)
        expect(page.locator("#status-chip")).to_have_text("completed")
        body = fake.generation_requests()[generations].body
        tool = body["tools"][0]
        assert tool["action"] == "edit" and tool["size"] == "1024x1024"
        uploads = dict(fake.uploads)
        alpha = decoded(uploads[tool["input_image_mask"]["file_id"]])[..., 3]
        assert alpha.shape == (1024, 1024)
        assert (alpha[204, 150:380] == 0).all()  # the stroke: to change
        assert alpha[600:, :].min() == 255 and alpha[:, 700:].min() == 255  # kept
        assert 0.003 < (alpha == 0).mean() < 0.05
        source = uploads[input_images(body)[0]["file_id"]]
        assert source == Path(run["image_history"][0]).read_bytes()
        assert body["input"][0]["content"][0]["text"] == "make the stone a deeper blue"
        with server.client() as client:
            after = client.get(f"/api/runs/{run_id}").json()
        assert after["iterations"] == 2 and after["rounds"][-1]["round"] == 2
        assert after["prompt_history"][-1] == "make the stone a deeper blue"
        assert after["stop_reason"] == run["stop_reason"]
    finally:
        server.stop()


def test_a_killed_server_finishes_the_running_and_the_queued_run(
    fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    fake.script_faults([{"kind": "generation", "delay": 8}])  # the first image takes its time
    out = tmp_path / "runs"
    server = WebServer(out, "--max-runs", "1", env=environment(fake), log=tmp_path / "web.log")
    state = out / ".aig-web" / "state.json"
    try:
        with server.client() as client:
            running = start_run(client, **OPENAI, prompt="gold ring on white marble")
            queued = start_run(client, **OPENAI, prompt="silver ring on black velvet")
            assert client.get(f"/api/runs/{queued}").json()["status"] == "queued"
            deadline = time.monotonic() + 30
            while not any(r.get("folder") for r in json.loads(state.read_text())["runs"]):
                assert time.monotonic() < deadline, "the running run never got its folder"
                time.sleep(0.05)
            assert client.get(f"/api/runs/{running}").json()["status"] == "running"
    finally:
        server.kill()
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert json.loads((folder / "run.json").read_text())["status"] == "running"  # killed
    again = WebServer(out, "--max-runs", "1", env=environment(fake), log=tmp_path / "web.log")
    try:
        with again.client() as client:
            first = wait_for(client, running, "completed", timeout=60)
            second = wait_for(client, queued, "completed", timeout=60)
    finally:
        again.stop()
    assert first["iterations"] == 1 and second["iterations"] == 1
    assert first["run_dir"] == str(folder)  # the killed run went on in its own folder
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == 2
    assert Path(second["best_image_url"]).is_file()
    assert all(entry["job"] is None for entry in json.loads(state.read_text())["runs"])
