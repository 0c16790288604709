"""The ``rules`` prompter: the next prompt is the user's prompt plus the fixes, in studio words.

The user's words always come first and are never changed (only trailing punctuation goes), so
their intent stays. After them comes one vocabulary phrase per slot (backdrop, framing,
exposure, ...): a new fix for a slot replaces the earlier one, a slot the user's own words
already set is left to the user, and a phrase is never written twice. The prompt is therefore
bounded by the number of slots however many rounds run.

Fixes come from the technical evaluator's ``Evaluation.fixes``; with any other evaluator the
prompter reads the feedback text: quoted vocabulary phrases first, then common symptoms
("too dark", "off-centre", "blurry", "halo", ...) mapped to the phrase that fixes them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agentic_image_gen.core.errors import ProviderError
from agentic_image_gen.core.types import Evaluation, Iteration
from agentic_image_gen.providers.base import ProviderContext
from agentic_image_gen.providers.local import vocabulary

SYMPTOMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), phrase)
    for pattern, phrase in (
        (r"off[- ]?cent(?:er|re)|not cent(?:er|re)d|cent(?:er|re) the", "centered"),
        (
            r"too small|more of the frame|too much (?:empty|negative) space|tighter",
            vocabulary.fill_phrase(0.70),
        ),
        (r"under-?exposed|over-?exposed|too dark|too bright|\bdim\b|exposure", "balanced exposure"),
        (
            r"harsh|uneven light|crushed|blown|clipped|bad lighting|poor lighting",
            "even, diffused lighting",
        ),
        (
            r"blurr?y|out of focus|soft focus|not sharp|unclear details?|lacks? detail",
            "sharp focus on details",
        ),
        (r"sparkle|brilliance|\bdull\b|lifeless|flat look", "enhance gemstone brilliance"),
        (r"halo|fringe|jagged|rough edges?|dirty edges?", "clean cut-out edges"),
        (
            r"cluttered|busy background|distracting background|backdrop is not clean",
            "white seamless background",
        ),
    )
)
_QUOTED = re.compile("['\"\u2018\u201c]([^'\"\u2019\u201d]{3,60})['\"\u2019\u201d]")


def fixes_from_feedback(evaluation: Evaluation) -> list[str]:
    """The fix phrases of an evaluation: structured when it has them, else read from text."""
    if evaluation.fixes is not None:
        return list(evaluation.fixes)
    text = evaluation.feedback
    found: list[str] = []
    for quoted in _QUOTED.findall(text):
        found += [mention.phrase for mention in vocabulary.find(quoted)]
    found += [phrase for pattern, phrase in SYMPTOMS if pattern.search(text)]
    return list(dict.fromkeys(found))


def base_of(original_prompt: str) -> str:
    return original_prompt.strip().rstrip(" .,;:")


def rewrite(original_prompt: str, previous_prompt: str, fixes: Sequence[str]) -> str:
    """The user's prompt, then the phrases kept from the previous turn, updated by the fixes."""
    base = base_of(original_prompt)
    users_slots = {mention.slot for mention in vocabulary.find(base)}
    added: dict[str, str] = {}
    if previous_prompt.startswith(base):
        for mention in vocabulary.find(previous_prompt[len(base) :]):
            if mention.slot not in users_slots:
                added[mention.slot] = mention.phrase
    for fix in fixes:
        mentions = vocabulary.find(fix)
        if not mentions or mentions[0].slot in users_slots:
            continue
        added[mentions[0].slot] = mentions[0].phrase
    return ", ".join([base, *added.values()])


class RulesPrompter:
    """Deterministic prompt refinement with no model; keeps no conversation."""

    @classmethod
    async def create(cls, context: ProviderContext) -> RulesPrompter:
        return cls()

    @property
    def conversation_id(self) -> str | None:
        return None

    async def generate_prompt(self, original_prompt: str, history: Sequence[Iteration]) -> str:
        if not history or history[-1].evaluation is None:
            raise ProviderError("cannot refine a prompt before its image was evaluated")
        latest = history[-1]
        assert latest.evaluation is not None
        return rewrite(original_prompt, latest.prompt, fixes_from_feedback(latest.evaluation))
