"""Faults injected by the fake OpenAI server: what is retried, what is not, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeOpenAIServer
from helpers import TEST_KEY, run_cli
from images import decode


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "retry_after": 1},
        {"status": 500},
        {"status": 503, "retry_after_ms": 200},
        {"status": 408},
        {"drop": True},
        {"malformed": True},
    ],
    ids=["429-retry-after", "500", "503-retry-after-ms", "408", "dropped", "malformed"],
)
def test_transient_faults_are_retried(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fault: dict[str, Any],
) -> None:
    openai_env.script_scores([95])
    openai_env.script_faults([{**fault, "kind": "generation"}])
    started = time.monotonic()
    code, output, err = run_cli(capsys, "ring", "--out", str(tmp_path))
    assert (code, err) == (0, "")
    assert len(openai_env.fault_hits) == 1
    assert len(openai_env.generation_requests()) == 2
    assert output["final_score"] == 95
    if "retry_after" in fault:
        assert time.monotonic() - started >= fault["retry_after"]


@pytest.mark.parametrize(
    ("fault", "code", "message"),
    [
        ({"status": 401}, 4, "OpenAI rejected the API key"),
        ({"status": 400, "message": "Invalid size '7x7'."}, 5, "HTTP 400 while generating"),
        ({"status": 404}, 5, "HTTP 404"),
        ({"refusal": True}, 8, "content refused during generation"),
    ],
    ids=["401", "400", "404", "content-policy"],
)
def test_permanent_errors_are_not_retried(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fault: dict[str, Any],
    code: int,
    message: str,
) -> None:
    openai_env.script_faults([{**fault, "kind": "generation"}])
    exit_code, output, err = run_cli(capsys, "ring", "--out", str(tmp_path))
    assert exit_code == code
    assert message in err
    assert len(openai_env.generation_requests()) == 1
    assert output["stop_reason"] == "error"
    assert TEST_KEY not in err and TEST_KEY not in json.dumps(output)
    if "message" in fault:
        assert fault["message"] in err


def test_failure_after_progress_keeps_everything_finished(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([50, 60])
    code, first, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--max-iterations", "2")
    assert code == 0
    # Resumed for a third iteration, the API stays down past the run's retry budget (8).
    openai_env.script_faults([{"status": 503, "retry_after": 0.01, "kind": "generation"}] * 10)
    code, output, err = run_cli(capsys, "--resume", first["run_dir"], "--max-iterations", "3")
    assert code == 5
    assert "HTTP 503 while generating an image (after 8 retries)" in err
    assert len(openai_env.fault_hits) == 9
    assert output["stop_reason"] == "error"
    assert output["iterations"] == 2
    assert output["final_score"] == 60
    for path in output["image_history"]:
        assert decode(Path(path).read_bytes()).format == "PNG"
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    assert journal["status"] == "failed"


def test_run_retry_budget_is_a_hard_limit(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_faults([{"status": 500}] * 10)
    code, output, err = run_cli(
        capsys, "ring", "--out", str(tmp_path), "--retries", "2", "--evaluator", "rubric"
    )
    assert code == 5
    assert "HTTP 500" in err and "after 2 retries" in err
    assert len(openai_env.fault_hits) == 3  # one try and two retries, then the budget is spent
    assert output["iterations"] == 0


def test_slow_reply_past_the_deadline_is_a_timeout(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_faults([{"delay": 3.0, "kind": "generation"}])
    started = time.monotonic()
    code, _, err = run_cli(capsys, "ring", "--out", str(tmp_path), "--timeout", "1")
    assert code == 5
    assert "timed out while generating an image" in err
    assert time.monotonic() - started < 3.0


def hung_in_second_generation(
    fake: FakeOpenAIServer, out: Path, *flags: str
) -> subprocess.Popen[str]:
    """A CLI run in a child process, caught in the middle of its second generation."""
    fake.script_faults([{"kind": "generation", "delay": 0}, {"kind": "generation", "delay": 30}])
    env = {**os.environ, "OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.base_url}
    command = [sys.executable, "-m", "agentic_image_gen", "gold ring", "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--threshold", "99", "--evaluator", "rubric", *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(fake.generation_requests()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.generation_requests()) == 2, "never reached the second generation"
    return process


def test_sigkill_mid_iteration_then_resume_loses_and_repeats_nothing(
    openai_env: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    openai_env.script_scores([40, 60, 80])
    process = hung_in_second_generation(openai_env, tmp_path, "--max-iterations", "3")
    (run_dir,) = tmp_path.iterdir()
    # The refinement is written while the second generation runs (it lands in milliseconds).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if json.loads((run_dir / "run.json").read_text())["result"]["pending_prompt"]:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    journal = json.loads((run_dir / "run.json").read_text())
    assert journal["status"] == "running"  # killed: nobody wrote an ending
    (first,) = journal["result"]["iterations"]
    assert first["evaluation"]["score"] == 40
    pending = journal["result"]["pending_prompt"]
    first_image = (run_dir / first["image_path"]).read_bytes()  # relative to the run folder

    openai_env.script_scores([60, 80])
    refinements_before = len(openai_env.refinement_requests())
    code, output, _ = run_cli(capsys, "--resume", str(run_dir))
    assert code == 0
    assert output["iterations"] == 3
    assert output["score_history"] == [40, 60, 80]
    assert output["prompt_history"][1] == pending  # the journaled refinement, not a new one
    assert len(openai_env.refinement_requests()) == refinements_before + 1
    assert Path(output["image_history"][0]).read_bytes() == first_image
    names = sorted(p.name for p in (run_dir / "images").iterdir())
    assert names == ["iter-01.png", "iter-02.png", "iter-03.png"]
    leftovers = [p for p in run_dir.rglob(".*") if p.is_file() and p.name != ".lock"]
    assert not leftovers  # no temp files left (.lock is the folder's lock, kept on purpose)
    final = json.loads((run_dir / "run.json").read_text())
    assert final["status"] == "completed"
    assert TEST_KEY not in (run_dir / "run.json").read_text()


def test_ctrl_c_journals_prints_the_partial_json_and_exits_130(
    fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    fake_openai.script_scores([40])
    process = hung_in_second_generation(fake_openai, tmp_path)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130
    output = json.loads(out)
    assert output["stop_reason"] == "interrupted"
    assert output["iterations"] == 1 and output["final_score"] == 40
    assert "Traceback" not in err
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    assert journal["status"] == "interrupted"
