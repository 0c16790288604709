"""What is installed: every provider, its roles, what it needs, and whether it is usable now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentic_image_gen.core.errors import AigError
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
            )
        )
    for name, why in sorted(registry.broken.items()):
        found.append(ProviderInfo(name, "cannot be loaded", {}, {}, [], f"broken plugin: {why}"))
    return found


def fetch_models(names: list[str], registry: Registry | None = None) -> list[str]:
    """Download (or find cached) and verify named models; their paths."""
    return (registry or Registry.installed()).fetch_models(names)
