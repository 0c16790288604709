"""One output model: what the CLI prints, ``show``, ``runs --json``, the library's
``RunResult.output()`` and ``publish`` are the same JSON, and the published schema holds it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import run_cli
from test_session_api import config, own

from agentic_image_gen import RunOutput, Session
from agentic_image_gen.core.output import output_schema
from agentic_image_gen.frontends import cli
from agentic_image_gen.providers.registry import Registry

ROOT = Path(__file__).resolve().parent.parent


def stdout_of(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_every_view_of_a_run_is_the_same_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, printed, _ = run_cli(
        capsys, "a gold ring", "--refs", str(ROOT / "examples" / "ring.jpg"),
        "--out", str(tmp_path), "--max-iterations", "2", "--threshold", "100",
        "--segmenter", "classical", "--size", "512x512",
    )
    assert code == 0
    shown = stdout_of(capsys, "show", printed["run_dir"])
    assert shown == printed
    listed = stdout_of(capsys, "runs", "--out", str(tmp_path), "--json")
    assert listed == [
        {
            "created_at": listed[0]["created_at"],
            "status": "completed",
            "best_score": printed["final_score"],
            "iterations": 2,
            "stop_reason": printed["stop_reason"],
            "prompt": "a gold ring",
            "run_dir": printed["run_dir"],
        }
    ]
    assert isinstance(listed[0]["best_score"], int)  # numbers as numbers
    session = Session()
    assert session.output(printed["run_dir"]).to_json() == printed
    assert printed["status"] == "completed" and printed["segmenter"] == "classical"
    jsonschema.validate(printed, stdout_of(capsys, "schema"))


async def test_the_library_and_publish_build_the_same_output(tmp_path: Path) -> None:
    async with Session(registry=Registry([]), env={}) as session:
        result = await session.run(config(tmp_path, max_iterations=2), **own([50, 70]))
        published, error = await session.publish(result)
        report = await session.report(result.run_dir)
    assert error is None and isinstance(published, RunOutput)
    assert published.report == str(report) and report.is_file()
    assert published.to_json() == result.output(report=str(report)).to_json()
    assert session.output(result.run_dir) == published
    data = published.to_json()
    assert "delivery" not in data and "error" not in data  # absent keys stay out
    assert list(data)[:6] == [
        "best_image_url", "final_score", "prompt_history", "image_history",
        "feedback_history", "thread_id",
    ]
    jsonschema.validate(data, output_schema())


def test_the_published_schema_is_the_models(tmp_path: Path) -> None:
    published = json.loads((ROOT / "docs" / "output-schema.json").read_text())
    assert published == output_schema(), "regenerate: agentic-image-gen schema > docs/..."
    # A schema that holds something: the specification's keys, typed and required.
    assert {"best_image_url", "final_score", "status", "reviews"} <= set(published["properties"])
    assert "final_score" in published["required"]
    delivery = published["$defs"]["Delivery"]["properties"]
    assert delivery["compliant"]["type"] == "boolean"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"best_image_url": None, "final_score": "100"}, published)
