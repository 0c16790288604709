"""OpenAI's prices in US dollars, by model family (``--prices FILE`` overrides any entry).

Costs are computed from the usage the API reports: ``usage`` for the mainline model and
``tool_usage.image_gen`` for the image model, per token type (text and image input, cached
input, image output). Dated snapshots (``gpt-image-2-2026-04-21``) are priced as their family.
Every image model the openai SDK lists has an entry, so none can pass for free.

Before a call, an image is estimated from the output tokens its quality takes at 1024x1024
(scaled by pixel count): the table ``images`` is derived from those counts, never typed twice.
The figures are the published list prices when this table was written; check them against
your invoice and correct them with ``--prices`` (same shape: ``tokens`` and ``images``).
"""

from __future__ import annotations

from agentic_image_gen.core.usage import PriceTable, TokenPrice

# Image output tokens of one 1024x1024 image per quality ("auto" is priced as "high", the
# most it may choose). Other sizes scale with their pixel count.
OUTPUT_TOKENS_1024 = {
    "low": 272,
    "medium": 1056,
    "high": 4160,
    "xhigh": 8320,
    "max": 16640,
    "auto": 4160,
}


def _image(text_in: float, image_in: float, image_out: float, cached: float) -> TokenPrice:
    return TokenPrice(
        input=text_in,
        output=image_out,
        cached_input=cached,
        image_input=image_in,
        cached_image_input=cached,
        image_output=image_out,
    )


IMAGE_TOKENS: dict[str, TokenPrice] = {
    "gpt-image-2.6-sunburst": _image(5.0, 10.0, 40.0, 1.25),
    "gpt-image-2.6-flare": _image(2.0, 4.0, 16.0, 0.5),
    "gpt-image-2.5-sunburst": _image(5.0, 10.0, 40.0, 1.25),
    "gpt-image-2.5-flare": _image(2.0, 4.0, 16.0, 0.5),
    "gpt-image-2": _image(5.0, 10.0, 40.0, 1.25),
    "gpt-image-1.5": _image(5.0, 8.0, 32.0, 1.25),
    "chatgpt-image-latest": _image(5.0, 8.0, 32.0, 1.25),
    "gpt-image-1": _image(5.0, 10.0, 40.0, 1.25),
    "gpt-image-1-mini": _image(2.0, 2.5, 8.0, 0.2),
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


def _per_image(price: TokenPrice) -> dict[str, float]:
    per_token = price.image_output if price.image_output is not None else price.output
    return {
        quality: round(tokens * per_token / 1_000_000, 6)
        for quality, tokens in OUTPUT_TOKENS_1024.items()
    }


PRICES = PriceTable(
    tokens={**TEXT_TOKENS, **IMAGE_TOKENS},
    images={**{model: _per_image(price) for model, price in IMAGE_TOKENS.items()}, **_PER_IMAGE},
)
