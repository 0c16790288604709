"""Cost and time accounting: one record per provider call, priced from a table.

Prices are in US dollars per million tokens of each type (text and image, input and output,
cached input), plus an estimate per image at 1024x1024 by quality (scaled by pixel area) for
pricing a call before it is made. Each provider ships its own table (its ProviderSpec); the
engine merges them and a user's ``--prices FILE`` (a JSON object of the same shape) over them.
Local providers cost 0.

Two amounts are kept apart on every call: the estimate made before it (``estimated_usd``) and
the cost of the usage the provider reported after it (``reported_usd``). ``cost_usd`` is what
the budget counts: the reported cost, or the estimate when nothing was reported. A model
without a price is never free: the record says ``priced: False``.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# Providers answer with dated snapshot names (``gpt-5.5-2026-04-23``); prices are per family.
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def model_family(model: str) -> str:
    """The family a dated snapshot belongs to (``name-YYYY-MM-DD`` -> ``name``)."""
    return _SNAPSHOT.sub("", model.strip())


class TokenPrice(BaseModel):
    input: float = Field(ge=0, description="USD per 1M (text) input tokens")
    output: float = Field(ge=0, description="USD per 1M (text) output tokens")
    cached_input: float | None = Field(
        default=None, ge=0, description="USD per 1M cached text input tokens (default: input)"
    )
    image_input: float | None = Field(
        default=None, ge=0, description="USD per 1M image input tokens (default: input)"
    )
    cached_image_input: float | None = Field(
        default=None, ge=0, description="USD per 1M cached image input tokens"
    )
    image_output: float | None = Field(
        default=None, ge=0, description="USD per 1M image output tokens (default: output)"
    )

    def cost(self, counts: TokenCounts) -> float:
        image_input = self.input if self.image_input is None else self.image_input
        cached = self.input if self.cached_input is None else self.cached_input
        cached_image = image_input if self.cached_image_input is None else self.cached_image_input
        image_output = self.output if self.image_output is None else self.image_output
        return (
            (counts.text_input - counts.cached_text_input) * self.input
            + counts.cached_text_input * cached
            + (counts.image_input - counts.cached_image_input) * image_input
            + counts.cached_image_input * cached_image
            + counts.text_output * self.output
            + counts.image_output * image_output
        ) / 1_000_000


class TokenCounts(BaseModel):
    """Tokens of one call by type, as the provider reported them (cached counts are part of
    their input counts)."""

    text_input: int = 0
    cached_text_input: int = 0
    image_input: int = 0
    cached_image_input: int = 0
    text_output: int = 0
    image_output: int = 0

    @property
    def input(self) -> int:
        return self.text_input + self.image_input

    @property
    def output(self) -> int:
        return self.text_output + self.image_output

    def __add__(self, other: TokenCounts) -> TokenCounts:
        return TokenCounts(
            **{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields}
        )


class PriceSource(BaseModel):
    """Where a figure comes from, so a reader can check it: the SDK, the spec, or a price
    page and the date it says; or, ``estimated``, what a figure no source documents rests on."""

    source: str = Field(description="the SDK, the spec, or a price page and its date")
    estimated: bool = Field(default=False, description="true when no source documents it")


class ImageTokens(PriceSource):
    """Output tokens of one 1024x1024 image at a quality (``images`` is derived from them)."""

    tokens: int = Field(ge=0)


class PriceTable(BaseModel):
    tokens: dict[str, TokenPrice] = {}
    # USD per image of 1024x1024, by quality; other sizes scale with their pixel count.
    images: dict[str, dict[str, float]] = {}
    # Where each model's figures (its ``tokens`` and ``images`` entries) come from; a model
    # without one is the user's own (``--prices``) or a provider's that says nothing.
    sources: dict[str, PriceSource] = {}
    # The token counts per quality ``images`` was derived from, with their sources.
    image_tokens: dict[str, ImageTokens] = {}

    def token_price(self, model: str) -> TokenPrice | None:
        """The price of ``model``: its own entry, else its family's."""
        return self.tokens.get(model) or self.tokens.get(model_family(model))

    def cost(self, model: str, counts: TokenCounts) -> float | None:
        """USD for ``counts`` tokens of ``model``; None when the model has no price."""
        price = self.token_price(model)
        return None if price is None else price.cost(counts)

    def token_cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        return self.cost(model, TokenCounts(text_input=input_tokens, text_output=output_tokens))

    def estimated(self, model: str) -> bool:
        """Whether ``model``'s figures are estimates (no source documents them)."""
        source = self.sources.get(model) or self.sources.get(model_family(model))
        return source is not None and source.estimated

    def merged(self, other: PriceTable) -> PriceTable:
        """This table with ``other``'s entries winning (a model ``other`` prices loses the
        source of this table's figures: they are no longer the ones used)."""
        replaced = other.tokens.keys() | other.images.keys()
        sources = {m: s for m, s in self.sources.items() if m not in replaced}
        return PriceTable(
            tokens={**self.tokens, **other.tokens},
            images={**self.images, **other.images},
            sources={**sources, **other.sources},
            image_tokens={**self.image_tokens, **other.image_tokens},
        )

    def image_cost(self, model: str, quality: str, size: str) -> float | None:
        per_quality = self.images.get(model) or self.images.get(model_family(model))
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
    cost_usd: float = 0.0  # what the budget counts: reported_usd, else estimated_usd
    priced: bool = True
    # Added for reported costs (issue 15); all optional so older run.json files still load.
    image_model: str = ""  # a hosted tool's model, priced apart from ``model``
    cached_input_tokens: int = 0
    image_input_tokens: int = 0
    image_output_tokens: int = 0
    estimated_usd: float | None = None  # priced before the call, from its settings
    reported_usd: float | None = None  # priced after it, from the usage it reported
    unpriced_models: list[str] = Field(default_factory=list)
    # Added for price sources (issue 28): models priced by figures no source documents.
    estimated_price_models: list[str] = Field(default_factory=list)


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


class UsageTotals(BaseModel):
    """Every provider call of a run, summed: the output's ``usage``."""

    calls: int
    seconds: float
    input_tokens: int
    output_tokens: int
    images: int
    cost_usd: float
    unpriced_calls: int
    cached_input_tokens: int
    image_input_tokens: int
    image_output_tokens: int
    estimated_usd: float
    reported_usd: float
    unpriced_models: list[str]
    estimated_price_models: list[str] = Field(default_factory=list)


def totals_of(records: list[CallRecord]) -> UsageTotals:
    return UsageTotals(
        calls=len(records),
        seconds=round(sum(r.seconds for r in records), 3),
        input_tokens=sum(r.input_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        images=sum(r.images for r in records),
        cost_usd=round(sum(r.cost_usd for r in records), 4),
        unpriced_calls=sum(1 for r in records if not r.priced),
        cached_input_tokens=sum(r.cached_input_tokens for r in records),
        image_input_tokens=sum(r.image_input_tokens for r in records),
        image_output_tokens=sum(r.image_output_tokens for r in records),
        estimated_usd=round(sum(r.estimated_usd or 0.0 for r in records), 4),
        reported_usd=round(sum(r.reported_usd or 0.0 for r in records), 4),
        unpriced_models=sorted({m for r in records for m in r.unpriced_models}),
        estimated_price_models=sorted({m for r in records for m in r.estimated_price_models}),
    )
