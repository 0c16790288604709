"""Cost and time accounting: one record per provider call, priced from a small table.

Prices are estimates in US dollars (per million tokens, and per image at 1024x1024, scaled by
pixel area); OpenAI's price list wins where they differ. Override them with ``--prices FILE``:
a JSON object of the same shape as DEFAULT_PRICES, merged over it. Local providers cost 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agentic_image_gen.core.errors import InputError


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


DEFAULT_PRICES = PriceTable(
    tokens={
        "gpt-5.5": TokenPrice(input=2.5, output=15.0),
        "gpt-5.4": TokenPrice(input=2.0, output=12.0),
        "gpt-5.4-mini": TokenPrice(input=0.4, output=2.4),
        "gpt-5.2": TokenPrice(input=1.75, output=14.0),
    },
    images={
        "gpt-image-2.5-sunburst": {"low": 0.011, "medium": 0.042, "high": 0.167, "auto": 0.167},
        "gpt-image-2": {"low": 0.011, "medium": 0.042, "high": 0.167, "auto": 0.167},
        "gpt-image-1.5": {"low": 0.009, "medium": 0.034, "high": 0.133, "auto": 0.133},
    },
)


def load_prices(path: Path | None) -> PriceTable:
    """The default table, with a user's JSON file merged over it."""
    if path is None:
        return DEFAULT_PRICES
    try:
        override = PriceTable.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError) as exc:
        raise InputError(
            f"--prices {path}: not a readable price table ({type(exc).__name__})"
        ) from exc
    return PriceTable(
        tokens={**DEFAULT_PRICES.tokens, **override.tokens},
        images={**DEFAULT_PRICES.images, **override.images},
    )


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

    def __init__(
        self, prices: PriceTable = DEFAULT_PRICES, records: list[CallRecord] | None = None
    ):
        self.prices = prices
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
