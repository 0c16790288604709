"""Checklist scoring is a pure function of the answers: weights, dependencies, the blend."""

from __future__ import annotations

import pytest

from agentic_image_gen.core.checklist import (
    Answer,
    Requirement,
    blended_score,
    failed_summary,
    judge,
    normalised,
)

RING = [
    Requirement(id="R1", question="Is there a ring?", category="object", weight=5),
    Requirement(
        id="R2",
        question="Is the band yellow gold?",
        category="material",
        weight=4,
        depends_on=["R1"],
    ),
    Requirement(
        id="R3",
        question="Is a sapphire set in the ring?",
        category="gemstone",
        weight=4,
        depends_on=["R1"],
    ),
    Requirement(id="R4", question="Is the background white?", category="background", weight=2),
    Requirement(
        id="R5",
        question="Same stone cut as the reference?",
        category="identity",
        weight=1,
        depends_on=["R3"],
    ),
]
PERFECT = {"sharpness": 10, "lighting": 10, "composition": 10, "realism": 10}


def answers(**passed: bool) -> list[Answer]:
    return [Answer(id=key, passed=value, reason="seen") for key, value in passed.items()]


def test_all_passed_and_perfect_quality_is_100() -> None:
    results = judge(RING, answers(R1=True, R2=True, R3=True, R4=True, R5=True))
    assert blended_score(results, PERFECT) == 100


def test_weights_and_identity_floor() -> None:
    # identity R5 weighs max(1, 3) = 3; total weight 5+4+4+2+3 = 18; failing R4 loses 2.
    results = judge(RING, answers(R1=True, R2=True, R3=True, R4=False, R5=True))
    assert [r.weight for r in results] == [5, 4, 4, 2, 3]
    assert blended_score(results, PERFECT) == round(100 * (0.8 * 16 / 18 + 0.2))  # 91


def test_failed_parent_zeroes_children_whatever_they_answered() -> None:
    results = judge(RING, answers(R1=False, R2=True, R3=True, R4=True, R5=True))
    by_id = {r.id: r for r in results}
    assert [by_id[i].passed for i in ("R1", "R2", "R3", "R4", "R5")] == [
        False,
        False,
        False,
        True,
        False,
    ]
    assert by_id["R2"].blocked_by == "R1"
    assert by_id["R5"].blocked_by == "R3"  # transitively: R3 failed because R1 did
    half_quality = dict.fromkeys(PERFECT, 5)
    assert blended_score(results, half_quality) == round(100 * (0.8 * 2 / 18 + 0.2 * 0.5))  # 19


def test_unanswered_requirements_fail() -> None:
    results = judge(RING, answers(R1=True, R2=True))
    assert {r.id for r in results if not r.passed} == {"R3", "R4", "R5"}
    assert "not answered" in results[3].reason


def test_same_answers_same_score() -> None:
    given = answers(R1=True, R2=False, R3=True, R4=True, R5=False)
    quality = {"sharpness": 7, "lighting": 6, "composition": 8, "realism": 9}
    scores = {blended_score(judge(RING, given), quality) for _ in range(5)}
    assert len(scores) == 1


def test_quality_ratings_are_clamped_and_missing_ones_count_zero() -> None:
    results = judge(RING, answers(R1=True, R2=True, R3=True, R4=True, R5=True))
    assert blended_score(results, {"sharpness": 99, "lighting": -5}) == round(100 * (0.8 + 0.05))


def test_normalised_drops_duplicates_dangling_and_forward_dependencies() -> None:
    messy = [
        Requirement(id="R1", question="a", category="object", weight=3, depends_on=["R2"]),
        Requirement(id="R2", question="b", category="object", weight=3, depends_on=["R1", "R9"]),
        Requirement(id="R2", question="dup", category="object", weight=3),
    ]
    clean = normalised(messy)
    assert [(r.id, r.depends_on) for r in clean] == [("R1", []), ("R2", ["R1"])]


def test_failed_summary_names_direct_misses_only() -> None:
    results = judge(RING, answers(R1=False, R2=True, R3=True, R4=False, R5=True))
    summary = failed_summary(results)
    assert "R1 Is there a ring?" in summary and "R4" in summary
    assert "R2" not in summary  # blocked by R1, not a miss of its own


@pytest.mark.parametrize("weight", [0, 6])
def test_weights_outside_1_to_5_are_refused(weight: int) -> None:
    with pytest.raises(ValueError):
        Requirement(id="R1", question="?", category="object", weight=weight)
