"""The rules prompter: the user's words first, one phrase per slot, never repeated, bounded."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from local_images import block_network  # noqa: F401

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.core.types import Evaluation, Iteration, OutputFormat
from agentic_image_gen.providers.local import vocabulary
from agentic_image_gen.providers.local.rules import RulesPrompter, fixes_from_feedback, rewrite

ORIGINAL = "18k yellow gold ring with a Ceylon sapphire, soft studio light, white seamless."
CANONICAL = sorted(
    {term.canonical for term in vocabulary.TERMS} | {"product fills 70% of the frame"}
)


def iteration(prompt: str, evaluation: Evaluation | None, index: int = 1) -> Iteration:
    return Iteration(
        index=index,
        prompt=prompt,
        image_path=f"/tmp/iter-{index}.png",
        width=1024,
        height=1024,
        output_format=OutputFormat.PNG,
        evaluation=evaluation,
    )


def technical(fixes: list[str], score: int = 50) -> Evaluation:
    return Evaluation(score=score, feedback="Score 50/100.", fixes=fixes)


async def refine(previous: str, evaluation: Evaluation, original: str = ORIGINAL) -> str:
    prompter = await RulesPrompter.create(None)  # type: ignore[arg-type]
    return await prompter.generate_prompt(original, [iteration(previous, evaluation)])


async def test_fixes_are_appended_after_the_users_words() -> None:
    prompt = await refine(ORIGINAL, technical(["balanced exposure", "centered"]))
    assert prompt == (
        "18k yellow gold ring with a Ceylon sapphire, soft studio light, white seamless, "
        "balanced exposure, centered"
    )


async def test_a_slot_the_user_set_is_left_to_the_user() -> None:
    fixes = ["even, diffused lighting", "dark reflective surface", "sharp focus on details"]
    prompt = await refine(ORIGINAL, technical(fixes))
    assert "even, diffused" not in prompt and "dark reflective" not in prompt
    assert prompt.endswith(", sharp focus on details")


async def test_earlier_fixes_are_kept_and_a_new_fix_replaces_its_slot() -> None:
    first = await refine(ORIGINAL, technical(["product fills 70% of the frame", "centered"]))
    second = await refine(first, technical(["product fills 65% of the frame", "sharp focus"]))
    assert second.endswith(", product fills 65% of the frame, centered, sharp focus on details")
    assert "70%" not in second


async def test_ten_rounds_never_repeat_a_phrase_and_stay_bounded() -> None:
    rng = random.Random(3)
    prompt, lengths = ORIGINAL, []
    for _ in range(10):
        fixes = [*rng.sample(CANONICAL, 4), vocabulary.fill_phrase(rng.randint(55, 85) / 100)]
        prompt = await refine(prompt, technical(fixes))
        lengths.append(len(prompt))
        assert prompt.startswith(ORIGINAL.rstrip("."))
        counts = Counter(mention.phrase for mention in vocabulary.find(prompt))
        assert max(counts.values()) == 1, counts
        slots = Counter(mention.slot for mention in vocabulary.find(prompt))
        assert max(slots.values()) == 1, slots
    limit = len(ORIGINAL) + sum(len(phrase) + 2 for phrase in CANONICAL)
    assert max(lengths) < limit
    assert lengths[-1] < len(ORIGINAL) + 400


async def test_the_prompt_is_unchanged_when_there_is_nothing_to_fix() -> None:
    prompt = await refine(ORIGINAL, technical([], score=100))
    assert prompt == ORIGINAL.rstrip(".")


FREE_TEXT = [
    ("The ring is off-center and too dark.", ["centered", "balanced exposure"]),
    ("Blurry engraving; a grey halo around the band.",
     ["sharp focus on details", "clean cut-out edges"]),
    ("Add 'dark reflective surface' and 'macro shot'.", ["dark reflective surface", "macro shot"]),
    ("The stone looks dull; harsh light on the band.",
     ["even, diffused lighting", "enhance gemstone brilliance"]),
    ("Lovely shot.", []),
]  # fmt: skip


@pytest.mark.parametrize(("feedback", "expected"), FREE_TEXT)
def test_free_text_feedback_from_other_evaluators_maps_to_phrases(
    feedback: str, expected: list[str]
) -> None:
    found = fixes_from_feedback(Evaluation(score=60, feedback=feedback))
    assert sorted(found) == sorted(expected)


def test_structured_fixes_win_over_text() -> None:
    evaluation = Evaluation(score=60, feedback="too dark", fixes=["centered"])
    assert fixes_from_feedback(evaluation) == ["centered"]


def test_rewrite_ignores_a_previous_prompt_that_does_not_start_with_the_users() -> None:
    assert rewrite("gold ring", "something else, centered", ["macro"]) == "gold ring, macro shot"


async def test_no_conversation_and_no_refinement_before_an_evaluation() -> None:
    prompter = await RulesPrompter.create(None)  # type: ignore[arg-type]
    assert prompter.conversation_id is None
    with pytest.raises(ProviderError):
        await prompter.generate_prompt("ring", [iteration("ring", None)])
    with pytest.raises(ProviderError):
        await prompter.generate_prompt("ring", [])
