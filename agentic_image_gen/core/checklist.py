"""Checklist scoring: a prompt decomposed into weighted, verifiable requirements.

The checklist is derived once per run from the user's request (and references) and judged
for every image, so every image is measured against the same list (as in TIFA / Davidsonian
Scene Graph). The score is a pure function of the answers, so the same answers always give
the same score:

    score = round(100 * (REQUIREMENTS_SHARE * passed_weight / total_weight
                         + QUALITY_SHARE * mean(quality ratings) / 10))

A requirement whose parent failed counts as failed, whatever its own answer ("sapphire set in
the ring" cannot pass without a ring). Reference-fidelity ("identity") requirements weigh at
least IDENTITY_MIN_WEIGHT.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Category = Literal[
    "object",
    "attribute",
    "count",
    "relation",
    "material",
    "gemstone",
    "lighting",
    "background",
    "composition",
    "text",
    "style",
    "identity",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
QUALITY_ASPECTS = ("sharpness", "lighting", "composition", "realism")

REQUIREMENTS_SHARE = 0.8
QUALITY_SHARE = 0.2
IDENTITY_MIN_WEIGHT = 3


class Requirement(BaseModel):
    id: str
    question: str
    category: Category
    weight: int = Field(ge=1, le=5)
    depends_on: list[str] = Field(default_factory=list)

    @property
    def effective_weight(self) -> int:
        return max(self.weight, IDENTITY_MIN_WEIGHT) if self.category == "identity" else self.weight


class Answer(BaseModel):
    id: str
    passed: bool
    reason: str = ""


class RequirementResult(BaseModel):
    """One requirement as judged for one image (what the JSON and report show)."""

    id: str
    question: str
    category: Category
    weight: int
    passed: bool
    reason: str
    blocked_by: str | None = None


def normalised(requirements: list[Requirement]) -> list[Requirement]:
    """Unique ids, dependencies only on earlier known ids (no cycles, no dangling refs)."""
    seen: set[str] = set()
    clean: list[Requirement] = []
    for requirement in requirements:
        if requirement.id in seen:
            continue
        depends = [parent for parent in requirement.depends_on if parent in seen]
        clean.append(requirement.model_copy(update={"depends_on": depends}))
        seen.add(requirement.id)
    return clean


def judge(requirements: list[Requirement], answers: list[Answer]) -> list[RequirementResult]:
    """Apply answers in checklist order; a failed parent fails its children.

    A requirement the judge did not answer counts as failed (the image did not show it)."""
    by_id = {answer.id: answer for answer in answers}
    outcome: dict[str, RequirementResult] = {}
    for requirement in requirements:
        answer = by_id.get(requirement.id)
        passed = answer.passed if answer else False
        reason = answer.reason if answer else "not answered by the judge"
        blocked_by = next(
            (parent for parent in requirement.depends_on if not outcome[parent].passed), None
        )
        if blocked_by is not None:
            passed, reason = False, f"depends on {blocked_by}, which failed"
        outcome[requirement.id] = RequirementResult(
            id=requirement.id,
            question=requirement.question,
            category=requirement.category,
            weight=requirement.effective_weight,
            passed=passed,
            reason=reason,
            blocked_by=blocked_by,
        )
    return list(outcome.values())


def blended_score(results: list[RequirementResult], quality: dict[str, int]) -> int:
    total = sum(result.weight for result in results)
    passed = sum(result.weight for result in results if result.passed)
    requirement_part = passed / total if total else 1.0
    ratings = [min(max(quality.get(aspect, 0), 0), 10) for aspect in QUALITY_ASPECTS]
    quality_part = sum(ratings) / (10 * len(ratings))
    return round(100 * (REQUIREMENTS_SHARE * requirement_part + QUALITY_SHARE * quality_part))


def failed_summary(results: list[RequirementResult]) -> str:
    """The misses as one readable sentence for the feedback paragraph."""
    failed = [result for result in results if not result.passed and result.blocked_by is None]
    if not failed:
        return ""
    parts = "; ".join(f"{result.id} {result.question} ({result.reason})" for result in failed)
    return f"Failed requirements: {parts}."
