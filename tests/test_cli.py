"""Exit codes, one-line errors and both entry points (as subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from images import decode, ring_photo

from agentic_image_gen.frontends import cli


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    # Nothing listens on port 9: a test that wrongly reaches the API fails fast instead.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["ring", "--quality", "ultra"], 2, "argument --quality: invalid choice: 'ultra'"),
        (["ring", "--size", "1000x1000"], 2, "divisible by 16"),
        (["ring", "--format", "gif"], 2, "argument --format: invalid choice"),
        (["ring", "--background", "green"], 2, "argument --background: invalid choice"),
        (["ring", "--format", "jpeg"], 2, "transparent' needs --format 'png' or 'webp'"),
        (["ring", "--max-iterations", "abc"], 2, "invalid int value: 'abc'"),
        (["ring", "--max-iterations", "0"], 2, "--max-iterations must be between 1 and 50"),
        (["ring", "--threshold", "120"], 2, "--threshold must be between 0 and 100"),
        (["   "], 2, "the prompt is empty"),
        ([], 2, "the following arguments are required: prompt"),
        (["ring", "--bogus"], 2, "unrecognized arguments: --bogus"),
        (["ring", "--refs"], 2, "expected at least one argument"),
        (["ring", "--refs", "/no/such/ring.jpg"], 3, "does not exist"),
        (["ring", "--refs", "ftp://example.com/a.png"], 3, "only http and https"),
        (["ring", "--generator", "dalle9"], 2, "'dalle9' is not an installed generator"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    argv: list[str], code: int, message: str, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code, out, err = run(argv, capsys)
    assert exit_code == code
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("agentic-image-gen: error: ")
    assert message in lines[0]


def test_missing_api_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, out, err = run(["ring", "--provider", "openai", "--out", "unused"], capsys)
    assert (code, out) == (4, "")
    assert err.strip() == (
        "agentic-image-gen: error: OPENAI_API_KEY is not set: export it to use the OpenAI providers"
    )
    assert not Path("unused").exists()


def test_bad_reference_creates_no_run_folder(
    keyed: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "ring.jpg"
    bad.write_text("not an image")
    code, _, err = run(["ring", "--refs", str(bad), "--out", str(tmp_path / "runs")], capsys)
    assert code == 3
    assert "is not a readable image" in err
    assert not (tmp_path / "runs").exists()


def test_unwritable_output_folder(
    keyed: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the run folder should go")
    code, _, err = run(["ring", "--out", str(blocker / "runs")], capsys)
    assert code == 6
    assert "cannot create a run folder" in err


def test_rejected_key_is_a_configuration_error_without_the_key(
    fake_openai: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "wrong-key-abcdefghijklmnop")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    fake_openai.reject_key("wrong-key-abcdefghijklmnop")
    code, out, err = run(["ring", "--out", str(tmp_path)], capsys)
    assert code == 4
    assert "rejected the API key" in err
    assert "abcdefghijklmnop" not in err + out
    output = json.loads(out)
    assert output["stop_reason"] == "error"
    journal = (Path(output["run_dir"]) / "run.json").read_text()
    assert "abcdefghijklmnop" not in journal


def test_help_lists_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    assert "exit codes:" in capsys.readouterr().out


def _entry_points() -> list[list[str]]:
    points = [[sys.executable, "-m", "agentic_image_gen"]]
    script = shutil.which("agentic-image-gen", path=str(Path(sys.executable).parent))
    if script:
        points.append([script])
    return points


@pytest.mark.parametrize("entry", _entry_points(), ids=lambda e: Path(e[-1]).name)
def test_entry_points_run_a_three_iteration_loop(
    entry: list[str], fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    fake_openai.script_scores([40, 55, 70])
    env = {**os.environ, "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake_openai.base_url}
    completed = subprocess.run(
        [
            *entry,
            "18k yellow gold ring with a Ceylon sapphire",
            "--refs",
            str(ref),
            "--size",
            "1024x1536",
            "--out",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    output = json.loads(completed.stdout)
    assert output["iterations"] == 3
    assert output["stop_reason"] == "max_iterations"
    assert output["final_score"] == 70
    assert decode(Path(output["best_image_url"]).read_bytes()).size == (1024, 1536)
    assert completed.stderr == ""  # not a terminal: no progress, and nothing went wrong
    report = Path(output["report"])
    assert report == Path(output["run_dir"]) / "report.html"
    assert "18k yellow gold ring" in report.read_text()
