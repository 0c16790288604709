"""Accounts that store nothing: ``--no-store``, or found out from the API's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeOpenAIServer
from helpers import input_images, run_cli
from images import ring_photo


def _assert_stateless(server: FakeOpenAIServer, output: dict[str, Any], ref: bytes) -> None:
    """Rounds 2+ edit the previous round's best image, sent back by file with the reference."""
    uploads = dict(server.uploads)
    rounds = output["rounds"]
    generations = server.generation_requests()
    later = [r.body for r in generations if r.body["tools"][0].get("action") == "edit"]
    assert len(later) == len(rounds) - 1
    for number, body in enumerate(later, start=2):
        previous, reference = input_images(body)
        assert uploads[reference["file_id"]] == ref
        best = rounds[number - 2]["best_iteration"]
        image_path = Path(output["image_history"][best - 1])
        assert uploads[previous["file_id"]] == image_path.read_bytes()
        assert body["store"] is False
        assert body["input"][0]["content"][0]["text"] == rounds[number - 1]["prompt"]
    assert output["continuation"] == "stateless"
    assert all(token.startswith("stateless:") for token in output["response_ids"][-2:])


def test_no_store_runs_three_rounds_without_stored_state(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    openai_env.script_scores([40, 60, 70])
    code, output, _err = run_cli(
        capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path / "runs"),
        "--max-iterations", "3", "--threshold", "99", "--no-store",
    )
    assert code == 0 and output["iterations"] == 3
    responses = openai_env.requests_to("/v1/responses")
    assert all("previous_response_id" not in r.body for r in responses)
    assert all(r.body.get("store") is False for r in responses)
    assert all("conversation" not in r.body for r in responses)
    assert openai_env.requests_to("/v1/conversations") == []
    assert output["thread_id"] is None
    _assert_stateless(openai_env, output, ref.read_bytes())
    # The prompter keeps its thread in the request: the third refinement carries the second.
    refinements = [r.body for r in openai_env.refinement_requests()]
    assert [len(body["input"]) for body in refinements] == [1, 3]
    answer = {"role": "assistant", "content": output["prompt_history"][1]}
    assert refinements[1]["input"][1] == answer


def test_an_account_that_stores_nothing_is_found_out_and_continued(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without --no-store: the refused Conversation (or the "previous response not found"
    answer) switches the run to stateless, and it completes."""
    openai_env.zdr = True
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    openai_env.script_scores([40, 60, 70])
    code, output, err = run_cli(
        capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path / "runs"),
        "--max-iterations", "3", "--threshold", "99",
    )
    assert code == 0, err
    assert output["iterations"] == 3
    _assert_stateless(openai_env, output, ref.read_bytes())


def test_previous_response_not_found_switches_the_generator(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The prompter's Conversation works, but the round's response is no longer kept (the
    fake answers 400 "Previous response with id ... not found.")."""
    openai_env.script_scores([40])
    code, output, _ = run_cli(
        capsys, "gold ring", "--out", str(tmp_path / "runs"), "--max-iterations", "1",
    )
    assert code == 0
    openai_env.script_scores([60])
    openai_env.response_ids.clear()  # the stored response is gone
    code, output, err = run_cli(
        capsys, "--resume", output["run_dir"], "--max-iterations", "2"
    )
    assert code == 0, err
    second = openai_env.generation_requests()[-1].body
    gone = openai_env.generation_requests()[-2]
    assert gone.body.get("previous_response_id") and gone.status == 400
    assert "previous_response_id" not in second and second["store"] is False
    assert second["tools"][0]["action"] == "edit"
    assert output["continuation"] == "stateless"


def test_a_stateless_run_resumes_stateless(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40])
    openai_env.script_generation(["image", "refusal"])
    code, partial, _ = run_cli(
        capsys, "gold ring", "--out", str(tmp_path), "--threshold", "99", "--no-store",
    )
    assert code == 8
    journal = json.loads((Path(partial["run_dir"]) / "run.json").read_text())
    assert journal["config"]["provider_options"]["openai"]["store"] is False
    openai_env.script_scores([60, 92])
    code, output, err = run_cli(capsys, "--resume", partial["run_dir"])
    assert code == 0, err
    resumed = openai_env.generation_requests()[-2].body
    assert "previous_response_id" not in resumed and resumed["store"] is False
    assert resumed["tools"][0]["action"] == "edit"
    assert output["continuation"] == "stateless"
    assert openai_env.requests_to("/v1/conversations") == []


def test_a_resumed_stored_run_never_continues_a_response_whose_files_were_deleted(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The first run deleted its uploads as it ended; its stored response names them. The
    resumed round starts a new stored chain (best image and reference uploaded again), and
    the round after it continues that chain."""
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    openai_env.script_scores([40])
    code, output, err = run_cli(
        capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path / "runs"),
        "--max-iterations", "1", "--evaluator", "rubric",
    )
    assert code == 0, err
    first_files = {file_id for file_id, _data in openai_env.uploads}
    assert first_files and not first_files & set(openai_env.files)  # deleted at the end
    openai_env.script_scores([60, 70])
    code, output, err = run_cli(capsys, "--resume", output["run_dir"], "--max-iterations", "3")
    assert code == 0, err
    assert output["continuation"] == "stored"
    _, restart, follow = openai_env.generation_requests()
    assert restart.status == follow.status == 200
    assert "previous_response_id" not in restart.body and "store" not in restart.body
    assert restart.body["tools"][0]["action"] == "edit"
    uploads = dict(openai_env.uploads)
    previous, reference = input_images(restart.body)
    assert uploads[previous["file_id"]] == Path(output["image_history"][0]).read_bytes()
    assert uploads[reference["file_id"]] == ref.read_bytes()
    assert not {previous["file_id"], reference["file_id"]} & first_files
    assert follow.body["previous_response_id"] == restart.response["id"]
    assert input_images(follow.body) == []


def test_kept_files_that_expired_are_found_out_and_the_run_goes_on(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--keep-files`` keeps them, so a resume continues the stored response; if they are
    gone meanwhile the API says ``image_file_not_found``, taken as a stored state that is
    gone: the round goes on statelessly, uploading again."""
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    openai_env.script_scores([40])
    code, output, err = run_cli(
        capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path / "runs"),
        "--max-iterations", "1", "--evaluator", "rubric", "--keep-files",
    )
    assert code == 0, err
    openai_env.files.clear()  # expired, or deleted by hand
    openai_env.script_scores([60])
    code, output, err = run_cli(capsys, "--resume", output["run_dir"], "--max-iterations", "2")
    assert code == 0, err
    _, gone, second = openai_env.generation_requests()
    assert gone.body.get("previous_response_id") and gone.status == 400
    assert gone.response["error"]["code"] == "image_file_not_found"
    assert "previous_response_id" not in second.body and second.body["store"] is False
    previous, reference = input_images(second.body)
    uploads = dict(openai_env.uploads)
    assert uploads[previous["file_id"]] == Path(output["image_history"][0]).read_bytes()
    assert uploads[reference["file_id"]] == ref.read_bytes()
    assert output["continuation"] == "stateless"
