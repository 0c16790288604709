"""`runs`, `show` and `report` on run folders made by real runs and written by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeOpenAIServer

from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import Evaluation, Iteration, OutputFormat
from agentic_image_gen.frontends import cli
from agentic_image_gen.store.run_store import RunJournal


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def real_run(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], out: Path, prompt: str
) -> dict[str, Any]:
    server.script_scores([45, 88])
    argv = [prompt, "--out", str(out), "--threshold", "80", "--evaluator", "rubric", "--quiet"]
    code, stdout, _ = call(capsys, *argv)
    assert code == 0
    output: dict[str, Any] = json.loads(stdout)
    return output


def hand_written(out: Path, name: str, created_at: str, prompt: str, scores: list[int]) -> Path:
    """A run folder as RunStore would leave it, written directly as a RunJournal."""
    folder = out / name
    (folder / "images").mkdir(parents=True)
    iterations = []
    for index, score in enumerate(scores, start=1):
        image = folder / "images" / f"iter-{index:02d}.png"
        image.write_bytes(b"not read by runs/show")
        iterations.append(
            Iteration(
                index=index,
                prompt=prompt,
                image_path=str(image),
                width=8,
                height=8,
                output_format=OutputFormat.PNG,
                evaluation=Evaluation(score=score, feedback=f"critique {index}"),
            )
        )
    journal = RunJournal(
        status="completed",
        created_at=created_at,
        updated_at=created_at,
        config={"prompt": prompt, "threshold": 85},
        result=RunResult(
            run_dir=str(folder),
            original_prompt=prompt,
            iterations=iterations,
            stop_reason="threshold",
        ),
    )
    (folder / "run.json").write_text(journal.model_dump_json(indent=2), encoding="utf-8")
    return folder


@pytest.fixture
def history(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Path:
    """Two real runs, two hand-written ones (older), and three damaged folders."""
    out = tmp_path / "runs"
    real_run(openai_env, capsys, out, "silver bracelet")
    hand_written(out, "b-old", "2020-01-02T03:04:05+00:00", "oldest\tpearl   earrings", [70])
    hand_written(out, "a-mid", "2021-06-01T00:00:00+00:00", "mid sapphire ring", [20, 60, 40])
    for name, text in (
        ("z-bad-json", "{not json"),
        ("z-partial", '{"version": 1, "status": "running", "created_at": "2022-'),
        ("z-wrong-shape", json.dumps({"version": 1, "result": {"iterations": "nope"}})),
    ):
        (out / name).mkdir()
        (out / name / "run.json").write_text(text, encoding="utf-8")
    (out / "not-a-run").mkdir()
    (out / "stray-file.txt").write_text("hello", encoding="utf-8")
    return out


def test_runs_lists_newest_first_and_reports_damaged_folders(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(capsys, "runs", "--out", str(history))
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert [row[4] for row in rows] == [
        "silver bracelet",
        "mid sapphire ring",
        "oldest pearl earrings",
    ]
    created, status, best, iterations, _, folder = rows[1]
    assert (created, best, iterations) == ("2021-06-01T00:00:00+00:00", "60", "3")
    assert status in ("completed", "running", "failed", "interrupted")
    assert folder == str((history / "a-mid").resolve())
    assert rows[0][2:4] == ["88", "2"]
    warnings = err.strip().splitlines()
    assert len(warnings) == 3
    for name in ("z-bad-json", "z-partial", "z-wrong-shape"):
        assert any(name in w and w.startswith("warning:") and "damaged" in w for w in warnings)
    assert "not-a-run" not in out + err and "stray-file" not in out + err


def test_runs_json(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "runs", "--out", str(history), "--json")
    assert code == 0
    listing = json.loads(out)
    assert [entry["prompt"] for entry in listing][1:] == [
        "mid sapphire ring",
        "oldest pearl earrings",
    ]
    assert set(listing[0]) == {
        "created_at", "status", "best_score", "iterations", "stop_reason", "prompt", "run_dir"
    }
    assert isinstance(listing[0]["best_score"], int) and isinstance(listing[0]["iterations"], int)
    assert err.count("warning:") == 3


def test_runs_on_a_missing_or_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(capsys, "runs", "--out", str(tmp_path / "nothing")) == (0, "", "")
    assert call(capsys, "runs", "--out", str(tmp_path)) == (0, "", "")


def test_show_reprints_the_run_json_and_report_adds_its_key(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    printed = real_run(openai_env, capsys, tmp_path, "rose gold pendant")
    run_dir = printed["run_dir"]
    code, out, _ = call(capsys, "show", run_dir)
    assert code == 0
    assert json.loads(out) == printed  # the same JSON, report key included
    report = Path(printed["report"])
    report.unlink()
    code, out, _ = call(capsys, "show", run_dir)
    assert "report" not in json.loads(out)  # no report file, no report key
    code, out, err = call(capsys, "report", run_dir)
    assert (code, err) == (0, "")
    report = Path(out.strip())
    assert report == Path(run_dir) / "report.html" and report.is_file()
    assert "rose gold pendant" in report.read_text(encoding="utf-8")
    code, out, _ = call(capsys, "show", run_dir)
    assert json.loads(out) == printed  # rebuilt, and named again


@pytest.mark.parametrize("command", ["show", "report"])
def test_show_and_report_refuse_damaged_and_missing_folders(
    command: str, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        "z-partial": "is damaged and cannot be read",
        "not-a-run": "has no run.json: not a run folder",
        "no-such-folder": "is not a run folder",
    }
    for name, message in cases.items():
        code, out, err = call(capsys, command, str(history / name))
        assert (code, out) == (2, ""), name
        assert err.startswith("agentic-image-gen: error: ") and message in err
        assert len(err.strip().splitlines()) == 1
    assert not (history / "z-partial" / "report.html").exists()


def test_report_of_a_hand_written_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = hand_written(tmp_path, "r", "2024-05-05T05:05:05+00:00", "<b>bold</b> & ring", [50])
    code, out, _ = call(capsys, "report", str(folder))
    assert code == 0
    html = Path(out.strip()).read_text(encoding="utf-8")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; ring" in html and "<b>bold</b>" not in html
