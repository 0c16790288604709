"""What a run may spend under ``--max-cost``: the first round priced ahead, later rounds
judged by the cost of those before."""

from __future__ import annotations

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import BudgetExhausted
from agentic_image_gen.core.usage import UsageLedger
from agentic_image_gen.providers.base import CostEstimator, ImageGenerator


def check_first_round(config: RunConfig, generator: ImageGenerator) -> None:
    """The first round has no history, so it is priced from the generator's image price; a
    budget it cannot cover is refused before anything is spent."""
    if config.max_cost is None or not isinstance(generator, CostEstimator):
        return
    each = generator.image_cost(config.image)
    if each is None:  # an unpriced image would count as free and switch the budget off
        raise BudgetExhausted(
            f"--max-cost {config.max_cost:g} USD cannot be kept: the generator has no price "
            "for its images at these settings (add one with --prices FILE)"
        )
    if each * config.candidates <= config.max_cost:
        return
    images = f"{config.candidates} images" if config.candidates > 1 else "one image"
    raise BudgetExhausted(
        f"--max-cost {config.max_cost:g} USD cannot pay for one round: {images} at "
        f"{config.image.quality.value} quality, {config.image.size}, cost about "
        f"{each * config.candidates:.3f} USD (lower --quality or --candidates, or see --prices)"
    )


def another_round_fits(limit: float | None, ledger: UsageLedger) -> bool:
    """Start another round only if a round at the average cost so far still fits."""
    return limit is None or ledger.total_cost + ledger.average_round_cost() <= limit
