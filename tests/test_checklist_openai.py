"""The checklist evaluator end to end against the loopback fake (the OpenAI default)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeOpenAIServer
from helpers import run_cli
from images import ring_photo


def texts(body: dict[str, Any]) -> str:
    return "\n".join(
        part["text"] for part in body["input"][0]["content"] if part["type"] == "input_text"
    )


def kinds(body: dict[str, Any]) -> list[str]:
    return [part["type"] for part in body["input"][0]["content"]]


def test_checklist_is_derived_once_and_every_image_is_judged_against_it(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40, 60, 90])
    code, output, _ = run_cli(capsys, "gold ring with a sapphire", "--out", str(tmp_path))
    assert code == 0
    assert output["score_history"] == [40, 60, 90]
    checklist_requests = [r for r in openai_env.requests if r.kind == "checklist"]
    assert len(checklist_requests) == 1
    judged = openai_env.evaluation_requests()
    assert len(judged) == 3
    lists = {texts(r.body).split("The checklist:")[1].split("\n\n")[0] for r in judged}
    assert len(lists) == 1  # the same list, word for word, every time
    assert [r["id"] for r in output["checklist"]] == [f"R{n}" for n in range(1, 11)]
    assert all(len(results) == 10 for results in output["requirements"])
    journal = json.loads((Path(output["run_dir"]) / "run.json").read_text())
    assert len(journal["result"]["checklist"]) == 10


def test_requests_ask_for_the_right_structure_and_carry_references(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref = tmp_path / "ring.jpg"
    ref.write_bytes(ring_photo())
    openai_env.script_scores([95])
    code, _, _ = run_cli(capsys, "gold ring", "--refs", str(ref), "--out", str(tmp_path / "runs"))
    assert code == 0
    (derive,) = [r.body for r in openai_env.requests if r.kind == "checklist"]
    text_format = derive["text"]["format"]
    assert (text_format["name"], text_format["strict"]) == ("checklist", True)
    item = text_format["schema"]["properties"]["requirements"]["items"]
    assert {"gemstone", "material", "identity", "lighting"} <= set(
        item["properties"]["category"]["enum"]
    )
    assert item["required"] == ["id", "question", "category", "weight", "depends_on"]
    assert kinds(derive) == ["input_text", "input_image"]
    assert "1 reference photo" in texts(derive)
    assert "identity" in derive["instructions"]
    (judge,) = [r.body for r in openai_env.evaluation_requests()]
    assert kinds(judge) == ["input_text", "input_image", "input_image"]
    assert judge["text"]["format"]["name"] == "checklist_evaluation"
    assert judge["store"] is False


def test_prompter_receives_the_failed_requirement_ids(
    openai_env: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    openai_env.script_scores([40, 95])
    code, output, _ = run_cli(capsys, "gold ring", "--out", str(tmp_path))
    assert code == 0
    first = output["requirements"][0]
    failed = [r["id"] for r in first if not r["passed"] and not r["blocked_by"]]
    assert failed  # a score of 40 fails requirements
    (refinement,) = openai_env.refinement_requests()
    request = refinement.body["input"]
    assert "must address each one" in request
    for requirement_id in failed:
        assert f"- {requirement_id}: " in request


@pytest.mark.parametrize(
    ("scores", "winners", "compared", "best_score"),
    [([80, 78], ["B"], 1, 78), ([80, 78], ["A"], 1, 80), ([80, 70], [], 0, 80)],
)
def test_tie_break_only_inside_the_margin(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    scores: list[int],
    winners: list[str],
    compared: int,
    best_score: int,
) -> None:
    openai_env.script_scores(scores)
    openai_env.script_comparisons(winners)
    code, output, _ = run_cli(
        capsys,
        "ring",
        "--out",
        str(tmp_path),
        "--candidates",
        "2",
        "--max-iterations",
        "1",
        "--threshold",
        "99",
    )
    assert code == 0
    assert len([r for r in openai_env.requests if r.kind == "comparison"]) == compared
    # Candidates run concurrently, so which one drew which scripted score is found out here;
    # the comparison's image A is always the higher score.
    best = output["score_history"].index(best_score) + 1
    assert output["best_iteration"] == best
    assert output["final_score"] == best_score
    assert len(output["tie_breaks"]) == compared
    if compared:
        assert output["tie_breaks"][0]["winner"] == best
        assert "Fake comparison" in output["tie_breaks"][0]["reason"]


def requirement(rid: str, question: str, category: str, weight: int, *deps: str) -> dict[str, Any]:
    return {
        "id": rid,
        "question": question,
        "category": category,
        "weight": weight,
        "depends_on": list(deps),
    }


def judgement(quality: list[int], **passed: bool) -> dict[str, Any]:
    aspects = ("sharpness", "lighting", "composition", "realism")
    return {
        "answers": [{"id": k, "passed": v, "reason": "as seen"} for k, v in passed.items()],
        "quality": dict(zip(aspects, quality, strict=True)),
        "feedback": "Scripted judgement.",
    }


# Hand-written checklists and the score each judgement must give (worked out by hand from the
# README's formula, not by calling the code under test).
CASES = [
    pytest.param(
        "18k yellow gold ring with a Ceylon sapphire, white seamless background, soft studio light",
        [
            requirement("R1", "Is there a ring?", "object", 5),
            requirement("R2", "Is the band yellow gold?", "material", 4, "R1"),
            requirement("R3", "Is there a blue sapphire?", "gemstone", 4, "R1"),
            requirement("R4", "Is the sapphire set in the ring?", "relation", 3, "R1", "R3"),
            requirement("R5", "Is the background white seamless?", "background", 3),
            requirement("R6", "Is the lighting soft studio light?", "lighting", 2),
        ],
        judgement([8, 8, 8, 8], R1=True, R2=True, R3=False, R4=True, R5=True, R6=False),
        62,  # passed 5+4+3=12 of 21 (R4 blocked by R3): 80*12/21 + 20*0.8 = 61.7
        ["R3", "R4", "R6"],
        id="ring-sapphire",
    ),
    pytest.param(
        "a pair of pearl drop earrings with rose gold hooks, flat lay",
        [
            requirement("R1", "Is there a pair of earrings?", "object", 5),
            requirement("R2", "Are the drops pearls?", "gemstone", 4, "R1"),
            requirement("R3", "Are there exactly two earrings?", "count", 3, "R1"),
            requirement("R4", "Are the hooks rose gold?", "material", 3, "R1"),
            requirement("R5", "Is it a flat lay?", "composition", 2),
        ],
        judgement([5, 5, 5, 5], R1=False, R2=True, R3=True, R4=True, R5=True),
        19,  # only R5 (2 of 17) passes: 80*2/17 + 20*0.5 = 19.4
        ["R1", "R2", "R3", "R4"],
        id="earrings-parent-fails",
    ),
    pytest.param(
        "a red bicycle leaning on a brick wall at golden hour",
        [
            requirement("R1", "Is there a bicycle?", "object", 5),
            requirement("R2", "Is the frame red?", "attribute", 3, "R1"),
            requirement("R3", "Is it leaning on a brick wall?", "relation", 3, "R1"),
            requirement("R4", "Is it the bicycle of the reference?", "identity", 2, "R1"),
            requirement("R5", "Is it golden-hour light?", "lighting", 2),
        ],
        judgement([10, 9, 8, 7], R1=True, R2=True, R3=True, R4=True, R5=False),
        87,  # identity weighs at least 3: 14 of 16 pass: 80*14/16 + 20*0.85 = 87
        ["R5"],
        id="general-with-identity",
    ),
]


@pytest.mark.parametrize(("prompt", "checklist", "scripted", "score", "failed"), CASES)
def test_hand_written_checklists_end_to_end(
    openai_env: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    prompt: str,
    checklist: list[dict[str, Any]],
    scripted: dict[str, Any],
    score: int,
    failed: list[str],
) -> None:
    openai_env.script_checklist(checklist)
    openai_env.script_judgements([scripted])
    code, output, _ = run_cli(capsys, prompt, "--out", str(tmp_path), "--max-iterations", "1")
    assert code == 0
    assert output["final_score"] == score
    (results,) = output["requirements"]
    assert [r["id"] for r in results if not r["passed"]] == failed
    assert output["checklist"] == checklist
    assert "Failed requirements:" in output["feedback_history"][0]


def test_reply_schemas_are_generated_strict_from_the_models() -> None:
    """Structured Outputs' strict mode: every object closed, every property required; the
    constraints the judge must follow come from the models themselves."""
    from agentic_image_gen.core.checklist import CATEGORIES, QUALITY_ASPECTS
    from agentic_image_gen.providers.openai.checklist import (
        _Checklist,
        _Comparison,
        _Judgement,
        _Quality,
    )
    from agentic_image_gen.providers.openai.evaluator import _Reply
    from agentic_image_gen.providers.openai.structured import strict_schema

    def objects(node: Any) -> list[dict[str, Any]]:
        found = []
        if isinstance(node, dict):
            if node.get("type") == "object":
                found.append(node)
            for value in node.values():
                found += objects(value)
        elif isinstance(node, list):
            for value in node:
                found += objects(value)
        return found

    for model in (_Checklist, _Judgement, _Comparison, _Reply):
        schema = strict_schema(model)
        assert "$ref" not in str(schema) and "$defs" not in schema
        for node in objects(schema):
            assert node["additionalProperties"] is False
            assert node["required"] == list(node["properties"])
    assert set(_Quality.model_fields) == set(QUALITY_ASPECTS)
    requirement = strict_schema(_Checklist)["properties"]["requirements"]["items"]
    assert requirement["properties"]["category"]["enum"] == list(CATEGORIES)
    weight = {"type": "integer", "minimum": 1, "maximum": 5}
    assert requirement["properties"]["weight"] == weight
    score = strict_schema(_Reply)["properties"]["score"]
    assert (score["minimum"], score["maximum"]) == (0, 100)
