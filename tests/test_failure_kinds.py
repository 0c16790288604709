"""Each kind of failure reaches the user as what it is: its own exit code and a message that
says what happened and what to do (README, "Exit codes")."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeOpenAIServer
from helpers import run_cli


def _run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *extra: str) -> Any:
    return run_cli(capsys, "gold ring", "--out", str(tmp_path), "--threshold", "99", *extra)


def test_permission_denied_is_an_account_problem(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_faults([{"status": 403, "kind": "generation"}])
    code, _output, err = _run(capsys, tmp_path)
    assert code == 4
    assert "OpenAI denied permission while generating an image" in err
    assert "model access" in err
    assert len(openai_env.generation_requests()) == 1  # not retried


def test_no_quota_is_an_account_problem_not_retried(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    quota = {"status": 429, "code": "insufficient_quota", "message": "You exceeded your quota."}
    openai_env.script_faults([{**quota, "kind": "generation"}])
    code, _output, err = _run(capsys, tmp_path)
    assert code == 4
    assert "exceeded your quota" in err
    assert len(openai_env.generation_requests()) == 1


def test_a_moderation_block_names_the_stage_and_the_categories(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_generation(["moderation"])
    code, output, err = _run(capsys, tmp_path)
    assert code == 8
    line = err.strip().splitlines()[-1]
    assert "content refused during generation" in line
    assert "categories: violence, weapons" in line
    assert "moderation of the input" in line
    assert "change the prompt or the reference images" in line
    assert output["iterations"] == 0
    assert len(openai_env.generation_requests()) == 1  # a policy block is not retried


def test_an_evaluator_refusal_is_named_as_such(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_faults([{"refusal": True, "kind": "evaluation"}])
    code, output, err = _run(capsys, tmp_path, "--evaluator", "rubric")
    assert code == 8
    assert "content refused during evaluation: the model refused while evaluating" in err
    assert "Expecting value" not in err
    assert output["iterations"] == 1  # the image is kept


def test_an_incomplete_evaluation_says_why_it_stopped(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_faults([{"incomplete": "max_output_tokens", "kind": "evaluation"}])
    code, _output, err = _run(capsys, tmp_path, "--evaluator", "rubric")
    assert code == 5
    assert "incomplete (max_output_tokens)" in err
    assert "Expecting value" not in err and "not the expected JSON" not in err


def test_a_failed_response_with_a_server_error_is_retried(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([95])
    openai_env.script_faults([{"failed": "server_error", "kind": "generation"}])
    code, output, _err = _run(capsys, tmp_path, "--threshold", "90")
    assert code == 0
    assert output["final_score"] == 95
    generations = openai_env.generation_requests()
    assert [r.response["status"] for r in generations] == ["failed", "completed"]


def test_an_outage_after_the_retries_is_exit_5(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_faults([{"failed": "server_error", "kind": "generation"}] * 3)
    code, _output, err = _run(capsys, tmp_path, "--retries", "2")
    assert code == 5
    assert "OpenAI's response failed while generating an image (after 2 retries)" in err
    assert "server_error" in err
    assert len(openai_env.generation_requests()) == 3


@pytest.mark.parametrize(
    ("status", "header", "requests", "code"),
    [(500, "false", 1, 5), (400, "true", 2, 0)],
    ids=["500-told-not-to-retry", "400-told-to-retry"],
)
def test_x_should_retry_is_obeyed(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    status: int,
    header: str,
    requests: int,
    code: int,
) -> None:
    openai_env.script_scores([95])
    fault = {"status": status, "headers": {"x-should-retry": header}, "kind": "generation"}
    openai_env.script_faults([fault])
    exit_code, _output, _err = _run(capsys, tmp_path, "--threshold", "90")
    assert exit_code == code
    assert len(openai_env.generation_requests()) == requests


def test_a_retry_after_past_the_deadline_fails_now(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_faults([{"status": 503, "retry_after": 60, "kind": "generation"}])
    started = time.monotonic()
    code, _output, err = _run(capsys, tmp_path, "--timeout", "30")
    assert time.monotonic() - started < 10  # not 30 s of waiting for nothing
    assert code == 5
    assert "the server asked to wait 60 s" in err
    assert len(openai_env.generation_requests()) == 1


def test_an_unpriced_image_model_is_refused_under_a_budget(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = ("--image-model", "gpt-image-9-unlisted")
    code, output, err = _run(capsys, tmp_path, *model, "--max-cost", "0.01")
    assert code == 9
    assert output == {}
    assert "no price for gpt-image-9-unlisted" in err and "--prices" in err
    assert openai_env.requests == []
    # Without a budget it runs, and the JSON says what could not be priced.
    openai_env.script_scores([95])
    code, output, _err = _run(capsys, tmp_path, *model, "--threshold", "90")
    assert code == 0
    assert output["usage"]["unpriced_models"] == ["gpt-image-9-unlisted"]
    assert output["usage"]["unpriced_calls"] == 1


def test_the_issues_budget_case_is_refused_not_run(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--image-model gpt-image-2.6-sunburst --max-cost 0.01`` once ran three high-quality
    rounds reporting $0.0027 (the model had no price, so it counted as free)."""
    code, output, err = _run(
        capsys, tmp_path, "--image-model", "gpt-image-2.6-sunburst", "--max-cost", "0.01"
    )
    assert code == 9
    assert output == {}
    assert "--max-cost 0.01 USD cannot pay for one round" in err
    assert "cost about 0.166 USD" in err
    assert openai_env.requests == []


def test_a_prompter_refusal_names_the_refinement_stage(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40])
    openai_env.script_faults([{"refusal": True, "kind": "refinement"}])
    code, output, err = _run(capsys, tmp_path, "--evaluator", "rubric")
    assert code == 8
    assert "content refused during refinement: the model refused while refining" in err
    assert output["iterations"] == 1


def test_a_moderation_error_answered_as_http_400_is_content_refused(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocked = {
        "status": 400,
        "code": "moderation_blocked",
        "message": "Your request was rejected by the safety system. safety_violations=[sexual].",
        "kind": "generation",
    }
    openai_env.script_faults([blocked])
    code, _output, err = _run(capsys, tmp_path)
    assert code == 8
    assert "content refused during generation [moderation_blocked] (categories: sexual)" in err
    assert len(openai_env.generation_requests()) == 1


def test_an_image_cut_off_by_the_content_filter_is_a_refusal(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``status: incomplete`` with ``content_filter`` on an image call is the policy speaking,
    as on the text roles: exit 8 naming the stage, not an outage to retry later (exit 5)."""
    openai_env.script_faults([{"incomplete": "content_filter", "kind": "generation"}])
    code, output, err = _run(capsys, tmp_path)
    assert code == 8, err
    line = err.strip().splitlines()[-1]
    assert "content refused during generation" in line
    assert "cut off by the content filter" in line
    assert "change the prompt or the reference images" in line
    assert output["iterations"] == 0
    (generation,) = openai_env.generation_requests()
    assert generation.response["incomplete_details"] == {"reason": "content_filter"}


@pytest.mark.parametrize("flag", ["--model", "--image-model"])
def test_an_unknown_model_is_a_setting_to_fix_named(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path, flag: str
) -> None:
    """``404 model_not_found`` is a configuration error (exit 4) naming the model, not an
    outage (exit 5): no retry and no waiting will make the model exist."""
    openai_env.missing_models.add("gpt-image-2.5-sunbrust")
    code, output, err = _run(capsys, tmp_path, flag, "gpt-image-2.5-sunbrust")
    assert code == 4, err
    line = err.strip().splitlines()[-1]
    assert "OpenAI has no model gpt-image-2.5-sunbrust for this key" in line
    assert "--image-model" in line and "try again" not in line
    assert output["iterations"] == 0
    (generation,) = openai_env.generation_requests()  # not retried
    assert generation.status == 404
    assert generation.response["error"]["code"] == "model_not_found"
