"""Cost and time accounting: one record per provider call, priced from a table.

Prices are estimates in US dollars (per million tokens, and per image at 1024x1024, scaled by
pixel area). Each provider ships its own table (its ProviderSpec); the engine merges them and
a user's ``--prices FILE`` (a JSON object of the same shape) over them. Local providers cost 0.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class TokenPrice(BaseModel):
    input: float = Field(ge=0, description="USD per 1M input tokens")
    output: float = Field(ge=0, description="USD per 1M output tokens")


class PriceTable(BaseModel):
    tokens: dict[str, TokenPrice] = {}
    # USD per image of 1024x1024, by quality; other sizes scale with their pixel count.
    images: dict[str, dict[str, float]] = {}

    def token_cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        price = self.tokens.get(model)
        if price is None:
            return None
        return (input_tokens * price.input + output_tokens * price.output) / 1_000_000

    def merged(self, other: PriceTable) -> PriceTable:
        """This table with ``other``'s entries winning."""
        return PriceTable(
            tokens={**self.tokens, **other.tokens}, images={**self.images, **other.images}
        )

    def image_cost(self, model: str, quality: str, size: str) -> float | None:
        per_quality = self.images.get(model)
        if per_quality is None:
            return None
        price = per_quality.get(quality, per_quality.get("high"))
        if price is None:
            return None
        if size == "auto":
            return price
        width, height = (int(side) for side in size.split("x"))
        return price * (width * height) / (1024 * 1024)


class CallRecord(BaseModel):
    """One provider call: what it was for, how long it took, what it used and cost."""

    action: str
    model: str = ""
    round: int = 0
    seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    cost_usd: float = 0.0
    priced: bool = True


class UsageLedger:
    """Every call of one run. The loop sets ``round``; providers ``record``."""

    def __init__(self, prices: PriceTable | None = None, records: list[CallRecord] | None = None):
        self.prices = prices if prices is not None else PriceTable()
        self.records: list[CallRecord] = list(records or [])
        self.round = 0

    def record(self, record: CallRecord) -> None:
        self.records.append(record.model_copy(update={"round": self.round}))

    @property
    def total_cost(self) -> float:
        return sum(record.cost_usd for record in self.records)

    def average_round_cost(self) -> float:
        rounds = {record.round for record in self.records}
        return self.total_cost / len(rounds) if rounds else 0.0


def totals_of(records: list[CallRecord]) -> dict[str, Any]:
    return {
        "calls": len(records),
        "seconds": round(sum(r.seconds for r in records), 3),
        "input_tokens": sum(r.input_tokens for r in records),
        "output_tokens": sum(r.output_tokens for r in records),
        "images": sum(r.images for r in records),
        "cost_usd": round(sum(r.cost_usd for r in records), 4),
        "unpriced_calls": sum(1 for r in records if not r.priced),
    }
