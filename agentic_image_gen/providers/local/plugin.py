"""The offline provider as the registry sees it: no key, no network, no SDK."""

from __future__ import annotations

from agentic_image_gen.providers.base import Component, ProviderSpec

_PACKAGE = "agentic_image_gen.providers.local"
PROVIDER = ProviderSpec(
    name="local",
    summary="offline: a product-shot studio, measured technical checks, a rules prompter",
    components=(
        Component("generator", "studio", f"{_PACKAGE}.studio:StudioGenerator",
                  "cuts the product out of the first reference and composes a shot"),
        Component("evaluator", "technical", f"{_PACKAGE}.technical:TechnicalEvaluator",
                  "weighted measured checks"),
        Component("prompter", "rules", f"{_PACKAGE}.rules:RulesPrompter",
                  "rewrites with the studio vocabulary"),
    ),
    defaults={"generator": "studio", "evaluator": "technical", "prompter": "rules"},
    needs=("a reference photo of the product (--refs) for the studio",),
    auto_rank=0,
    segmenters=("auto", "u2netp", "isnet", "birefnet", "classical"),
    cutter=f"{_PACKAGE}.cutting:create_cutter",
    fetcher=f"{_PACKAGE}.segment.models:fetch_models",
)
