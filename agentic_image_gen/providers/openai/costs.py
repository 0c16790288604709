"""One ledger record per OpenAI call, priced from the usage the API reported.

A Response carries two usages: ``usage`` for the mainline model (the one named in the request,
answered as a dated snapshot) and ``tool_usage.image_gen`` for the image model behind the
``image_generation`` tool (reference images in, image tokens out). Both are priced per token
type; the estimate made before an image call is kept beside them, never mixed in, except as
the cost of an image whose usage the API did not report (so it never counts as free).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentic_image_gen.core.usage import CallRecord, PriceTable, TokenCounts, model_family


@dataclass(frozen=True)
class ImagePrice:
    """What an image call asked for, so it can be estimated before and priced after."""

    model: str
    quality: str
    size: str


def _int(value: Any) -> int:
    return int(value or 0)


def mainline_counts(usage: Any) -> TokenCounts:
    """``Response.usage``: text tokens (images sent to the mainline model count as input)."""
    details = getattr(usage, "input_tokens_details", None)
    return TokenCounts(
        text_input=_int(getattr(usage, "input_tokens", 0)),
        cached_text_input=_int(getattr(details, "cached_tokens", 0)),
        text_output=_int(getattr(usage, "output_tokens", 0)),
    )


def image_tool_counts(image_gen: Any) -> TokenCounts:
    """``Response.tool_usage.image_gen``: text and image input, image (and text) output.

    The SDK allows ``cached_tokens`` without ``cached_tokens_details``; such a count is laid
    on the text input first, then the image input: the most those counts can cost (so the
    budget never undercounts), and nearly exact, the text being a prompt of a few tokens."""
    inputs = getattr(image_gen, "input_tokens_details", None)
    outputs = getattr(image_gen, "output_tokens_details", None)
    cached = getattr(image_gen, "cached_tokens_details", None)
    output_tokens = _int(getattr(image_gen, "output_tokens", 0))
    image_output = _int(getattr(outputs, "image_tokens", 0)) if outputs else output_tokens
    text_input = _int(getattr(inputs, "text_tokens", 0))
    image_input = _int(getattr(inputs, "image_tokens", 0))
    if cached is not None:
        cached_text = _int(getattr(cached, "cached_text_tokens", 0))
        cached_image = _int(getattr(cached, "cached_image_tokens", 0))
    else:
        total = _int(getattr(image_gen, "cached_tokens", 0))
        cached_text = min(total, text_input)
        cached_image = min(total - cached_text, image_input)
    return TokenCounts(
        text_input=text_input,
        image_input=image_input,
        cached_text_input=cached_text,
        cached_image_input=cached_image,
        image_output=image_output,
        text_output=_int(getattr(outputs, "text_tokens", 0)) if outputs else 0,
    )


def images_made(result: Any) -> int:
    return sum(
        1
        for item in getattr(result, "output", None) or []
        if getattr(item, "type", "") == "image_generation_call" and getattr(item, "result", "")
    )


def record_of(
    action: str, result: Any, seconds: float, image: ImagePrice | None, prices: PriceTable
) -> CallRecord:
    """The ledger's record of one finished call."""
    model = str(getattr(result, "model", "") or "")
    text = mainline_counts(getattr(result, "usage", None))
    unpriced: list[str] = []
    priced_by: list[str] = []  # the models whose figures this record's cost rests on
    reported = 0.0
    if text.input or text.output:
        text_cost = prices.cost(model, text)
        if text_cost is None:
            unpriced.append(model)
        else:
            priced_by.append(model)
        reported += text_cost or 0.0
    images = images_made(result)
    estimate = None
    tool = TokenCounts()
    cost_extra = 0.0
    if image is not None:
        each = prices.image_cost(image.model, image.quality, image.size)
        estimate = None if each is None else each * max(images, 1)
        image_gen = getattr(getattr(result, "tool_usage", None), "image_gen", None)
        if image_gen is not None:
            tool = image_tool_counts(image_gen)
        if tool.input or tool.output:
            tool_cost = prices.cost(image.model, tool)
            if tool_cost is None:
                unpriced.append(image.model)
            reported += tool_cost or 0.0
        elif images:  # made but not reported: the estimate, or unpriced; never free
            if each is None:
                unpriced.append(image.model)
            cost_extra = (each or 0.0) * images
        if image.model not in unpriced:
            priced_by.append(image.model)
    counts = text + tool
    return CallRecord(
        action=action,
        model=model,
        image_model=image.model if image is not None else "",
        seconds=round(seconds, 3),
        input_tokens=counts.input,
        output_tokens=counts.output,
        cached_input_tokens=counts.cached_text_input + counts.cached_image_input,
        image_input_tokens=counts.image_input,
        image_output_tokens=counts.image_output,
        images=images,
        estimated_usd=None if estimate is None else round(estimate, 6),
        reported_usd=round(reported, 6),
        cost_usd=round(reported + cost_extra, 6),
        priced=not unpriced,
        unpriced_models=sorted(set(unpriced)),
        estimated_price_models=sorted({model_family(m) for m in priced_by if prices.estimated(m)}),
    )
