"""Runs that stop part-way are journaled and resumed with no iteration lost or repeated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeOpenAIServer
from helpers import run_cli
from images import decode

from agentic_image_gen.frontends import cli


def journal(run_dir: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(run_dir) / "run.json").read_text())
    return data


def test_resume_evaluates_an_unscored_image_instead_of_regenerating(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_evaluator_replies(["broken", "broken"])
    code, partial, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--threshold", "90")
    assert code == 5
    assert journal(partial["run_dir"])["status"] == "failed"
    assert len(openai_env.generation_requests()) == 1

    openai_env.script_scores([70, 95])
    code, output, _ = run_cli(capsys, "--resume", partial["run_dir"])
    assert code == 0
    assert output["run_dir"] == partial["run_dir"]
    assert output["score_history"] == [70, 95]
    assert output["stop_reason"] == "threshold"
    assert len(openai_env.generation_requests()) == 2  # one before, one after: none repeated
    assert output["image_history"][0] == partial["image_history"][0]
    assert journal(output["run_dir"])["status"] == "completed"


def test_resume_uses_the_journaled_refinement_and_continues_the_context(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40])
    openai_env.script_generation(["image", "refusal"])
    code, partial, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--threshold", "90")
    assert code == 8  # the refusal: ContentRefused
    pending = journal(partial["run_dir"])["result"]["pending_prompt"]
    assert pending.startswith("Refined prompt #1")
    refinements_before = len(openai_env.refinement_requests())

    openai_env.script_scores([60, 92])
    code, output, _ = run_cli(capsys, "--resume", partial["run_dir"])
    assert code == 0
    assert len(openai_env.refinement_requests()) == refinements_before + 1
    assert output["prompt_history"][1] == pending
    generations = openai_env.generation_requests()
    resumed = generations[-2].body
    assert resumed["previous_response_id"] == partial["response_ids"][0]
    assert output["thread_id"] == partial["thread_id"]
    assert {r.body["conversation"] for r in openai_env.refinement_requests()} == {
        output["thread_id"]
    }
    assert [Path(p).name for p in output["image_history"]] == [
        "iter-01.png",
        "iter-02.png",
        "iter-03.png",
    ]
    for path in output["image_history"]:
        assert decode(Path(path).read_bytes()).format == "PNG"


def test_resume_can_raise_the_cap_of_a_finished_run(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([30, 40])
    code, first, _ = run_cli(capsys, "ring", "--out", str(tmp_path), "--max-iterations", "2")
    assert (code, first["stop_reason"]) == (0, "max_iterations")
    openai_env.script_scores([88])
    code, output, _ = run_cli(capsys, "--resume", first["run_dir"], "--max-iterations", "3")
    assert code == 0
    assert output["score_history"] == [30, 40, 88]
    assert output["iterations"] == 3
    assert journal(output["run_dir"])["config"]["max_iterations"] == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--resume", "/no/such/run"], "is not a run folder"),
        (["ring", "--resume", "."], "either a prompt or --resume"),
    ],
)
def test_bad_resume_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = cli.main(argv)
    assert code == 2
    assert message in capsys.readouterr().err


def test_resume_refuses_a_damaged_journal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "run.json").write_text('{"version": 1, "status": "runn')
    assert cli.main(["--resume", str(tmp_path)]) == 2
    assert "is damaged" in capsys.readouterr().err


@pytest.fixture(scope="module")
def delivered_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished local run with a delivery (made once; each test damages a copy)."""
    from images import ring_photo

    out = tmp_path_factory.mktemp("delivered")
    ref = out / "ring.png"
    ref.write_bytes(ring_photo(fmt="PNG"))
    argv = ["a ring", "--provider", "local", "--segmenter", "classical", "--refs", str(ref)]
    argv += ["--profile", "amazon-main", "--max-iterations", "1", "--out", str(out / "runs")]
    code = cli.main([*argv, "--quiet"])
    assert code == 0
    (run_dir,) = (out / "runs").iterdir()
    assert journal(str(run_dir))["result"]["delivery"]["profile"] == "amazon-main"
    return run_dir


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_resume_names_a_missing_or_damaged_image(
    damage: str, delivered_run: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A resume works from the journal's images: one that is gone or cut short is one line
    naming it (exit 6), and no JSON (so no delivery block from the earlier run)."""
    run_dir = tmp_path / delivered_run.name
    shutil.copytree(delivered_run, run_dir)
    capsys.readouterr()
    (image,) = (run_dir / "images").iterdir()
    if damage == "deleted":
        image.unlink()
    else:
        image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])
    code = cli.main(["--resume", str(run_dir), "--max-iterations", "2", "--quiet"])
    out, err = capsys.readouterr()
    assert (code, out) == (6, "")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{image}, a file of the run folder, is missing or damaged" in err
    assert journal(str(run_dir))["status"] == "completed"  # the folder is left as it was
