"""OpenAI's prices, as estimates in US dollars (``--prices FILE`` overrides any entry).

Per million tokens for the text models; per image at 1024x1024 by quality for the image
models (other sizes scale with their pixel count).
"""

from __future__ import annotations

from agentic_image_gen.core.usage import PriceTable, TokenPrice

PRICES = PriceTable(
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
