"""What a run may spend under ``--max-cost``: the first round priced ahead, later rounds
judged by the cost of those before. A run that shares a budget with other runs (a catalog's,
through a Limiter) also reserves every round from it before the round starts."""

from __future__ import annotations

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import BudgetExhausted
from agentic_image_gen.core.limits import Limiter
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.usage import UsageLedger
from agentic_image_gen.providers.base import CostEstimator, ImageGenerator


def check_first_round(
    config: RunConfig, generator: ImageGenerator, limit: float | None = None
) -> None:
    """The first round has no history, so it is priced from the generator's image price; a
    budget it cannot cover is refused before anything is spent. ``limit``: a budget the run
    shares, which applies beside its own ``max_cost``."""
    limit = min((x for x in (config.max_cost, limit) if x is not None), default=None)
    if limit is None or not isinstance(generator, CostEstimator):
        return
    each = generator.image_cost(config.image)
    if each is None:  # an unpriced image would count as free and switch the budget off
        raise BudgetExhausted(
            f"--max-cost {limit:g} USD cannot be kept: the generator has no price "
            "for its images at these settings (add one with --prices FILE)"
        )
    if each * config.candidates <= limit:
        return
    images = f"{config.candidates} images" if config.candidates > 1 else "one image"
    raise BudgetExhausted(
        f"--max-cost {limit:g} USD cannot pay for one round: {images} at "
        f"{config.image.quality.value} quality, {config.image.size}, cost about "
        f"{each * config.candidates:.3f} USD (lower --quality or --candidates, or see --prices)"
    )


def another_round_fits(limit: float | None, ledger: UsageLedger) -> bool:
    """Start another round only if a round at the average cost so far still fits."""
    return limit is None or ledger.total_cost + ledger.average_round_cost() <= limit


def round_estimate(config: RunConfig, generator: ImageGenerator, ledger: UsageLedger) -> float:
    """What the next round should cost: the average round so far, or before any round the
    price of its images (0 when the generator cannot say)."""
    if ledger.records:
        return ledger.average_round_cost()
    each = generator.image_cost(config.image) if isinstance(generator, CostEstimator) else None
    return (each or 0.0) * config.candidates


class Share:
    """A run's part in a budget it shares: each round is reserved before it starts (one
    reservation per round, however often it is asked) and the run's spending is settled
    before the next reservation and when the run ends."""

    def __init__(
        self,
        limiter: Limiter | None,
        ledger: UsageLedger,
        config: RunConfig,
        generator: ImageGenerator,
    ) -> None:
        self.limiter = limiter
        self.ledger = ledger
        self.config = config
        self.generator = generator
        self.round: int | None = None  # the round the reservation held is for

    @property
    def limit(self) -> float | None:
        return None if self.limiter is None else self.limiter.max_cost

    async def reserve(self, number: int) -> bool:
        if self.limiter is None or self.limiter.max_cost is None or number == self.round:
            return True
        await self.limiter.settle(self.ledger.total_cost)
        estimate = round_estimate(self.config, self.generator, self.ledger)
        self.round = number if await self.limiter.reserve(estimate) else None
        return self.round is not None

    async def open(self, resumed: RunResult | None) -> None:
        """Before a run starts (or resumes): a new run's first round is priced against the
        budget that applies, a resumed run's ledger starts with its earlier calls, and the
        round it plays first is reserved; refused, nothing has begun (BudgetExhausted)."""
        if resumed is None:
            check_first_round(self.config, self.generator, self.limit)
        else:
            self.ledger.records[:0] = resumed.usage  # a resumed run keeps its earlier calls
        number = 1 if resumed is None else resumed.round_to_play(self.config.candidates)
        if not await self.reserve(number):
            least = round_estimate(self.config, self.generator, self.ledger)
            raise BudgetExhausted(
                f"the shared budget of {self.limit:g} USD cannot pay for round {number} now "
                f"(a round costs at least {least:.3f} USD, or what other rounds have cost)"
            )

    async def release(self) -> None:
        if self.limiter is not None:
            await self.limiter.settle(self.ledger.total_cost)
        self.round = None
