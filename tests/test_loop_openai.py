"""The whole loop through the CLI, against the loopback fake OpenAI server."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeOpenAIServer
from fakes.file_server import FileServer
from helpers import TEST_KEY, run_cli
from images import decode, ring_photo


def content_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    (message,) = body["input"]
    return list(message["content"])


def test_refs_go_with_turn_one_only_and_later_turns_continue(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    local = tmp_path / "ring.jpg"
    local.write_bytes(ring_photo())
    openai_env.script_scores([40, 60, 70])
    with FileServer() as files:
        url = files.add("/ring-side.png", ring_photo(fmt="PNG"))
        code, output, _ = run_cli(
            capsys,
            "gold ring",
            "--refs",
            str(local),
            url,
            "--out",
            str(tmp_path / "runs"),
            "--max-iterations",
            "3",
            "--threshold",
            "90",
            "--quiet",
            "--allow-private-urls",  # the reference server is on loopback
        )
    assert code == 0
    first, second, third = (r.body for r in openai_env.generation_requests())
    images = [part for part in content_of(first) if part["type"] == "input_image"]
    assert len(images) == 2
    # Each reference was uploaded once (Files API) and is named by its file id.
    uploaded = dict(openai_env.uploads)
    assert [part["file_id"] for part in images] == list(uploaded)
    assert "image_url" not in images[0]
    assert uploaded[images[0]["file_id"]] == local.read_bytes()
    assert sorted(openai_env.deleted_files) == sorted(uploaded)  # deleted when the run ended
    assert "previous_response_id" not in first
    assert second["previous_response_id"] == output["response_ids"][0]
    assert third["previous_response_id"] == output["response_ids"][1]
    for later in (second, third):
        assert [part["type"] for part in content_of(later)] == ["input_text"]
    assert content_of(second)[0]["text"] == output["prompt_history"][1]
    tool = first["tools"][0]
    assert tool == {
        "type": "image_generation",
        "model": "gpt-image-2.5-sunburst",
        "quality": "high",
        "size": "1024x1024",
        "background": "transparent",
        "output_format": "png",
    }


def test_stops_at_threshold_and_picks_best(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([55, 91, 99])
    code, output, err = run_cli(
        capsys, "a ring", "--out", str(tmp_path), "--max-iterations", "4", "--threshold", "90"
    )
    assert code == 0
    assert output["stop_reason"] == "threshold"
    assert output["iterations"] == 2
    assert output["score_history"] == [55, 91]
    assert output["final_score"] == 91
    assert output["best_image_url"] == output["image_history"][1]
    assert len(openai_env.generation_requests()) == 2
    assert len(openai_env.refinement_requests()) == 1
    assert err == ""  # progress stays off when stderr is not a terminal


def test_stops_at_cap_and_best_is_highest_later_on_ties(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([30, 80, 80, 50])
    code, output, _ = run_cli(
        capsys, "a ring", "--out", str(tmp_path), "--max-iterations", "4", "--threshold", "95"
    )
    assert code == 0
    assert output["stop_reason"] == "max_iterations"
    assert output["score_history"] == [30, 80, 80, 50]
    assert output["best_iteration"] == 3
    assert output["best_image_url"] == output["image_history"][2]
    assert output["final_score"] == 80


def test_output_json_keys_types_and_files(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([50, 70, 86])
    code, output, _ = run_cli(
        capsys,
        "platinum band",
        "--out",
        str(tmp_path),
        "--size",
        "1536x1024",
        "--background",
        "opaque",
        "--format",
        "jpeg",
        "--quality",
        "medium",
    )
    assert code == 0
    expected_types = {
        "best_image_url": str,
        "final_score": int,
        "prompt_history": list,
        "image_history": list,
        "feedback_history": list,
        "thread_id": str,
        "run_dir": str,
        "score_history": list,
        "response_ids": list,
        "iterations": int,
        "stop_reason": str,
    }
    for key, kind in expected_types.items():
        assert isinstance(output[key], kind), key
    assert output["iterations"] == 3
    assert len(output["prompt_history"]) == len(output["image_history"]) == 3
    assert len(output["feedback_history"]) == 3
    assert output["prompt_history"][0] == "platinum band"
    assert output["thread_id"].startswith("conv_")
    run_dir = Path(output["run_dir"])
    assert run_dir.is_absolute() and run_dir.parent == tmp_path.resolve()
    for path in output["image_history"]:
        assert Path(path).is_absolute() and path.endswith(".jpg")
        image = decode(Path(path).read_bytes())
        assert (image.format, image.size, image.mode) == ("JPEG", (1536, 1024), "RGB")
    journal = json.loads((run_dir / "run.json").read_text())
    assert journal["status"] == "completed"
    assert [it["evaluation"]["score"] for it in journal["result"]["iterations"]] == [50, 70, 86]
    assert TEST_KEY not in (run_dir / "run.json").read_text()


def test_transparent_png_and_webp_outputs(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([95])
    for fmt in ("png", "webp"):
        code, output, _ = run_cli(
            capsys, "ring", "--out", str(tmp_path), "--size", "1024x1536", "--format", fmt
        )
        assert code == 0
        image = decode(Path(output["best_image_url"]).read_bytes())
        assert image.format == fmt.upper()
        assert image.size == (1024, 1536)
        assert image.convert("RGBA").getpixel((2, 2))[3] == 0


def test_evaluator_sees_a_small_jpeg_and_the_user_request(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([95])
    code, _, _ = run_cli(
        capsys,
        "emerald pendant",
        "--out",
        str(tmp_path),
        "--size",
        "2048x2048",
        "--evaluator",
        "rubric",
    )
    assert code == 0
    (request,) = openai_env.evaluation_requests()
    body = request.body
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["strict"] is True
    assert body["store"] is False
    text, image = content_of(body)
    assert "emerald pendant" in text["text"]
    assert image["detail"] == "high"
    assert image["image_url"].startswith("data:image/jpeg;base64,")
    preview = decode(base64.b64decode(image["image_url"].split(",", 1)[1]))
    assert preview.size == (1024, 1024)  # at most 1024 x 1536: the API looks at 768


def test_prompter_keeps_one_conversation(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([10, 20, 30])
    code, output, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--threshold", "99")
    assert code == 0
    assert len(openai_env.requests_to("/v1/conversations")) == 1
    refinements = openai_env.refinement_requests()
    assert len(refinements) == 2
    assert {r.body["conversation"] for r in refinements} == {output["thread_id"]}
    assert all("Ceylon" not in r.body["instructions"] for r in refinements)
    assert "jewelry" in refinements[0].body["instructions"]
    assert "scored 10/100" in refinements[0].body["input"]
    assert output["prompt_history"][1].startswith("Refined prompt #1")


def test_malformed_evaluator_reply_is_retried_once(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_evaluator_replies(["this is not json", 93])
    code, output, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--evaluator", "rubric")
    assert code == 0
    assert output["score_history"] == [93]
    assert len(openai_env.evaluation_requests()) == 2


@pytest.mark.parametrize(
    "replies", [["nope", '{"score": 101, "feedback": "x"}'], ['{"score": "high"}', "[]"]]
)
def test_unusable_evaluator_fails_clearly_and_keeps_the_image(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    replies: list[str],
) -> None:
    openai_env.script_evaluator_replies(replies)
    code, output, err = run_cli(capsys, "ring", "--out", str(tmp_path))
    assert code == 5
    last_line = err.strip().splitlines()[-1]
    assert last_line.startswith("agentic-image-gen: error: the reply while ")
    assert "was unusable twice" in last_line
    assert output["stop_reason"] == "error"
    assert output["final_score"] is None
    (image_path,) = output["image_history"]
    assert decode(Path(image_path).read_bytes()).format == "PNG"
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    assert journal["status"] == "failed"


@pytest.mark.parametrize(
    ("outcome", "code", "message"),
    [
        ("refusal", 8, "content refused during generation: the model refused"),
        ("text_only", 5, "answered with text only"),
    ],
)
def test_response_without_image_is_a_provider_error(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    outcome: str,
    code: int,
    message: str,
) -> None:
    openai_env.script_generation([outcome])
    exit_code, output, err = run_cli(capsys, "ring", "--out", str(tmp_path))
    assert exit_code == code
    assert message in err
    assert "Traceback" not in err
    assert output["iterations"] == 0


def test_later_failure_keeps_finished_iterations(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([60])
    openai_env.script_generation(["image", "refusal"])
    code, output, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--threshold", "99")
    assert code == 8  # ContentRefused
    assert output["iterations"] == 1
    assert output["final_score"] == 60
    assert Path(output["best_image_url"]).is_file()
