"""What is installed: every provider, its roles, what it needs, and whether it is usable now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentic_image_gen.core.errors import AigError
from agentic_image_gen.core.usage import PriceTable
from agentic_image_gen.providers.base import ROLES
from agentic_image_gen.providers.registry import Registry


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    summary: str
    roles: dict[str, list[str]]  # role -> component names, the default first
    options: dict[str, Any]  # option -> its value here (defaults, then the environment)
    needs: list[str]
    problem: str | None  # None: usable now
    environment: dict[str, str] = field(default_factory=dict)  # option -> variable
    # Its own prices: per model the figures, their source and whether they are estimates.
    prices: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.problem is None


def describe_providers(
    env: Mapping[str, str], registry: Registry | None = None
) -> list[ProviderInfo]:
    registry = registry or Registry.installed()
    found = []
    for spec in registry.specs:
        roles: dict[str, list[str]] = {}
        for role in ROLES:
            names = [c.name for c in spec.components if c.role == role]
            default = spec.defaults.get(role)
            roles[role] = sorted(names, key=lambda name: name != default)
        try:
            options = spec.resolve_options({}, env)
            problem = spec.problem(options, env)
            shown = options.model_dump(mode="json")
        except AigError as error:
            problem, shown = str(error), {}
        found.append(
            ProviderInfo(
                name=spec.name,
                summary=spec.summary,
                roles=roles,
                options=shown,
                needs=list(spec.needs),
                problem=problem,
                environment=dict(spec.env),
                prices=described_prices(spec.prices),
            )
        )
    for name, why in sorted(registry.broken.items()):
        found.append(ProviderInfo(name, "cannot be loaded", {}, {}, [], f"broken plugin: {why}"))
    return found


def described_prices(table: PriceTable) -> dict[str, Any]:
    """A price table as people and JSON read it: each model's figures (per 1M tokens, per
    1024x1024 image by quality) with their source and ``estimated``; then the image token
    counts the per-image figures were derived from. Empty for a provider that costs nothing."""
    models: dict[str, Any] = {}
    for model in sorted(table.tokens.keys() | table.images.keys()):
        entry: dict[str, Any] = {}
        if model in table.tokens:
            entry["per_million_tokens"] = table.tokens[model].model_dump(exclude_none=True)
        if model in table.images:
            entry["per_image_1024"] = table.images[model]
        source = table.sources.get(model)
        entry["source"] = source.source if source is not None else ""
        entry["estimated"] = source is not None and source.estimated
        models[model] = entry
    if not models:
        return {}
    counts = {quality: count.model_dump() for quality, count in table.image_tokens.items()}
    return {"models": models, "image_tokens_1024": counts}


def fetch_models(names: list[str], registry: Registry | None = None) -> list[str]:
    """Download (or find cached) and verify named models; their paths."""
    return (registry or Registry.installed()).fetch_models(names)
