"""OpenAI's prices in US dollars, by model family (``--prices FILE`` overrides any entry).

Costs are computed from the usage the API reports: ``usage`` for the mainline model and
``tool_usage.image_gen`` for the image model, per token type (text and image input, cached
input, image output). Dated snapshots (``gpt-image-2-2026-04-21``) are priced as their family.
Every image model the openai SDK lists has an entry, so none can pass for free.

Before a call, an image is estimated from the output tokens its quality takes at 1024x1024
(scaled by pixel count): the table ``images`` is derived from those counts, never typed twice.

Every figure says where it comes from (``SOURCES``, ``IMAGE_TOKENS_1024``): neither the openai
SDK nor the OpenAPI spec carries a price, and no price page can be read where this table is
kept, so a figure is sourced only where a dated page of OpenAI's documents it; every other is
marked ``estimated`` and says what it rests on. ``agentic-image-gen providers`` and the run's
JSON (``usage.estimated_price_models``) show which; check them against your invoice.
"""

from __future__ import annotations

from agentic_image_gen.core.usage import ImageTokens, PriceSource, PriceTable, TokenPrice

# OpenAI's developer forum, quoting OpenAI's pricing and image-generation pages for gpt-image-1.
FORUM_GPT_IMAGE_1 = (
    "OpenAI's gpt-image-1 pricing and output-token table as collected on OpenAI's developer "
    "forum, community.openai.com/t/1275254 (2025)"
)
FORUM_PER_IMAGE = (
    "image output per 1M implied by OpenAI's per-image table on OpenAI's developer forum, "
    "community.openai.com/t/1371851 (2025)"
)
RECALLED = (
    "the list price as recalled when this table was written (2026-11); no dated price page "
    "could be read to check it"
)

# Image output tokens of one 1024x1024 image per quality ("auto" is priced as "high", the
# most it may choose). Other sizes scale with their pixel count.
IMAGE_TOKENS_1024 = {
    "low": ImageTokens(tokens=272, source=FORUM_GPT_IMAGE_1),
    "medium": ImageTokens(tokens=1056, source=FORUM_GPT_IMAGE_1),
    "high": ImageTokens(tokens=4160, source=FORUM_GPT_IMAGE_1),
    "xhigh": ImageTokens(tokens=8320, source="twice high; no source documents it", estimated=True),
    "max": ImageTokens(tokens=16640, source="4 x high; no source documents it", estimated=True),
    "auto": ImageTokens(
        tokens=4160, source="high's count, the most auto may choose (a bound)", estimated=True
    ),
}


def _image(
    text_in: float, image_in: float, image_out: float, cached: float, cached_image: float
) -> TokenPrice:
    return TokenPrice(
        input=text_in,
        output=image_out,
        cached_input=cached,
        image_input=image_in,
        cached_image_input=cached_image,
        image_output=image_out,
    )


IMAGE_TOKENS: dict[str, TokenPrice] = {
    "gpt-image-2.6-sunburst": _image(5.0, 10.0, 40.0, 1.25, 1.25),
    "gpt-image-2.6-flare": _image(2.0, 4.0, 16.0, 0.5, 0.5),
    "gpt-image-2.5-sunburst": _image(5.0, 10.0, 40.0, 1.25, 1.25),
    "gpt-image-2.5-flare": _image(2.0, 4.0, 16.0, 0.5, 0.5),
    "gpt-image-2": _image(5.0, 10.0, 40.0, 1.25, 1.25),
    "gpt-image-1.5": _image(5.0, 8.0, 32.0, 1.25, 1.25),
    "chatgpt-image-latest": _image(5.0, 8.0, 32.0, 1.25, 1.25),
    "gpt-image-1": _image(5.0, 10.0, 40.0, 1.25, 2.5),
    "gpt-image-1-mini": _image(2.0, 2.5, 8.0, 0.2, 0.2),
}

TEXT_TOKENS: dict[str, TokenPrice] = {
    "gpt-5.5": TokenPrice(input=2.5, cached_input=0.25, output=15.0),
    "gpt-5.4": TokenPrice(input=2.0, cached_input=0.2, output=12.0),
    "gpt-5.4-mini": TokenPrice(input=0.4, cached_input=0.04, output=2.4),
    "gpt-5.2": TokenPrice(input=1.75, cached_input=0.175, output=14.0),
}

# The retired DALL-E models were billed per image, not per token.
_PER_IMAGE = {
    "dall-e-3": {"standard": 0.04, "hd": 0.08, "auto": 0.08},
    "dall-e-2": {"standard": 0.02, "auto": 0.02},
}

_ESTIMATE = PriceSource(source=RECALLED, estimated=True)
SOURCES: dict[str, PriceSource] = {
    **dict.fromkeys([*TEXT_TOKENS, *_PER_IMAGE], _ESTIMATE),
    **dict.fromkeys(IMAGE_TOKENS, _ESTIMATE),
    "gpt-image-1": PriceSource(source=FORUM_GPT_IMAGE_1),
    "gpt-image-1.5": PriceSource(
        source=f"{FORUM_PER_IMAGE} (32 USD); the input and cached figures are {RECALLED}",
        estimated=True,
    ),
    "gpt-image-1-mini": PriceSource(
        source=f"{FORUM_PER_IMAGE} (8 USD); the input and cached figures are {RECALLED}",
        estimated=True,
    ),
    "chatgpt-image-latest": PriceSource(
        source="priced as gpt-image-1.5 (assumed: no source prices it)", estimated=True
    ),
}


def _per_image(price: TokenPrice) -> dict[str, float]:
    per_token = price.image_output if price.image_output is not None else price.output
    return {
        quality: round(count.tokens * per_token / 1_000_000, 6)
        for quality, count in IMAGE_TOKENS_1024.items()
    }


PRICES = PriceTable(
    tokens={**TEXT_TOKENS, **IMAGE_TOKENS},
    images={**{model: _per_image(price) for model, price in IMAGE_TOKENS.items()}, **_PER_IMAGE},
    sources=SOURCES,
    image_tokens=IMAGE_TOKENS_1024,
)
