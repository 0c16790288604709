"""The fake's side of the checklist evaluator: checklists, judgements and comparisons.

A judgement the test did not script is made to match the scripted *score* under the project's
documented blend (80 % weighted requirements, 20 % quality), so loop tests can script scores
whichever OpenAI evaluator runs. With the default checklist (ten requirements of weight 1)
every integer score 0-100 is reachable exactly.
"""

from __future__ import annotations

from typing import Any

QUALITY_ASPECTS = ("sharpness", "lighting", "composition", "realism")

DEFAULT_CHECKLIST: list[dict[str, Any]] = [
    {"id": f"R{n}", "question": question, "category": category, "weight": 1, "depends_on": deps}
    for n, (question, category, deps) in enumerate(
        [
            ("Is there a ring?", "object", []),
            ("Is the band yellow gold?", "material", ["R1"]),
            ("Is there a blue sapphire?", "gemstone", ["R1"]),
            ("Is the sapphire set in the ring?", "relation", ["R1", "R3"]),
            ("Is the lighting soft and even?", "lighting", []),
            ("Is the background clean?", "background", []),
            ("Is the ring centred?", "composition", []),
            ("Does the ring fill most of the frame?", "composition", []),
            ("Is the image photographic?", "style", []),
            ("Is there exactly one ring?", "count", ["R1"]),
        ],
        start=1,
    )
]


def schema_name(body: dict[str, Any]) -> str:
    text = body.get("text")
    text_format = text.get("format") if isinstance(text, dict) else None
    return str(text_format.get("name", "")) if isinstance(text_format, dict) else ""


def judgement_for_score(checklist: list[dict[str, Any]], score: int) -> dict[str, Any]:
    """Answers and ratings whose blend is ``score`` for ten unit-weight requirements.

    score = 8 * passed + quality_sum / 2, with passed <= 10 and quality_sum <= 40. The
    requirements that pass are parents before children, so dependency zeroing never bites."""
    passed = min(10, max(0, score) // 8)
    quality_sum = 2 * (max(0, score) - 8 * passed)
    ratings = [min(10, max(0, quality_sum - 10 * n)) for n in range(4)]
    parents = {parent for r in checklist for parent in r["depends_on"]}

    def ancestors(requirement: dict[str, Any]) -> int:
        by_id = {r["id"]: r for r in checklist}
        return sum(1 + ancestors(by_id[p]) for p in requirement["depends_on"] if p in by_id)

    order = sorted(checklist, key=lambda r: (-ancestors(r), r["id"] in parents))
    failing = {r["id"] for r in order[: len(order) - passed]}
    answers = [
        {
            "id": r["id"],
            "passed": r["id"] not in failing,
            "reason": "missing" if r["id"] in failing else "visible",
        }
        for r in checklist
    ]
    feedback = f"Fake checklist judgement for score {score}."
    quality = dict(zip(QUALITY_ASPECTS, ratings, strict=True))
    return {"answers": answers, "quality": quality, "feedback": feedback}
