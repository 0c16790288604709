"""How many candidates a round makes: as configured, or fewer when the generator knows it
has no more different pictures for the turn (a Varying generator, e.g. the studio with a
locked product); a repeated picture is no candidate. Said once per round, as a warning."""

from __future__ import annotations

import logging

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import GenerationRequest, ReferenceImage
from agentic_image_gen.engine.lock import Lock
from agentic_image_gen.providers.base import Varying

log = logging.getLogger("agentic_image_gen.engine")


def round_size(
    generator: object, request: GenerationRequest, configured: int, number: int, said: set[int]
) -> int:
    """The candidates of round ``number``; ``said`` holds the rounds already announced."""
    if not isinstance(generator, Varying) or configured == 1:
        return configured
    possible = max(1, min(configured, generator.variants(request)))
    if possible < configured and number not in said:
        said.add(number)
        log.warning(
            "round %d makes %d candidate%s, not %d: the generator has no other different "
            "picture for this prompt%s",
            number,
            possible,
            "" if possible == 1 else "s",
            configured,
            " with the product locked" if request.locked is not None else "",
        )
    return possible


class RoundSizes:
    """``round_size`` for one run: the turn a round's candidates share, asked of its
    generator (each round announced once)."""

    def __init__(
        self,
        generator: object,
        config: RunConfig,
        references: tuple[ReferenceImage, ...],
        result: RunResult,
        lock: Lock,
    ) -> None:
        self.generator, self.config, self.references = generator, config, references
        self.result, self.lock = result, lock
        self.said: set[int] = set()

    def __call__(self, number: int, prompt: str) -> int:
        previous = self.result.base_for(number)
        request = GenerationRequest(
            prompt=prompt,
            settings=self.config.image,
            references=self.references,
            context=previous.context if previous else None,
            locked=self.lock.scene,
        )
        return round_size(self.generator, request, self.config.candidates, number, self.said)
