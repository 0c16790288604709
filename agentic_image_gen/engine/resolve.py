"""A run's settings, resolved once when it starts: the components, their typed options and
the segmenter. The result is journaled (in the run's config), and a resume reuses exactly
that: after this, nothing reads the environment for the run (credentials stay with the SDKs
that read them, and process-wide switches where they are)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from agentic_image_gen.core.config import ProviderNames, RunConfig, check_installed
from agentic_image_gen.core.errors import ConfigurationError
from agentic_image_gen.providers.base import ROLES, ProviderSpec, Role
from agentic_image_gen.providers.registry import Registry

# The environment's say in a run's segmenter, read here and nowhere else.
SEGMENTER_ENV = "AIG_SEGMENTER"
# A role filled by an object the caller handed over is journaled under this prefix.
OWN_PREFIX = "own:"


@dataclass(frozen=True)
class Resolution:
    """``config`` as journaled (concrete names and full options), each used provider's spec
    and its typed options."""

    config: RunConfig
    specs: dict[str, ProviderSpec]
    options: dict[str, BaseModel]

    def options_for(self, role: Role, registry: Registry) -> tuple[str, BaseModel | None]:
        name = getattr(self.config.providers, role) or ""
        spec, _ = registry.component(role, name)
        return name, self.options[spec.name]


def own_name(component: object) -> str:
    return f"{OWN_PREFIX}{type(component).__name__}"


def resolve(
    config: RunConfig,
    registry: Registry,
    env: Mapping[str, str],
    own: Mapping[Role, object],
    *,
    resuming: bool,
) -> Resolution:
    """The run's components and options, concrete. A new run reads ``env`` (``auto``, option
    variables, ``AIG_SEGMENTER``); a resumed one was resolved before: its journaled options
    win, and only what a provider keeps out of the journal (an endpoint) is read again."""
    if resuming:
        _refuse_missing_own(config.providers, own)
    check_installed(config, registry.names(), own=tuple(own))
    named = {role for role in ROLES if role not in own}
    # Every role handed over as an object: no provider set is chosen at all.
    names = registry.choose(config, env) if named else ProviderNames(provider="own")
    names = names.model_copy(update={role: own_name(obj) for role, obj in own.items()})
    specs: dict[str, ProviderSpec] = {}
    for role in sorted(named):
        spec, _ = registry.component(role, getattr(names, role) or "")
        specs[spec.name] = spec
    options = {name: spec.resolve_options(spec.given(config), env) for name, spec in specs.items()}
    segmenter = config.segmenter
    if segmenter is None and not resuming:
        segmenter = env.get(SEGMENTER_ENV, "").strip().lower() or None
    resolved = config.model_copy(
        update={
            "providers": names,
            "provider_options": {**config.provider_options, **_dumped(options)},
            "segmenter": segmenter,
        }
    )
    if segmenter is not None and not resuming:
        check_installed(resolved, registry.names(), own=tuple(own))  # the environment's name
    return Resolution(resolved, specs, options)


def _refuse_missing_own(names: ProviderNames, own: Mapping[Role, object]) -> None:
    for role in ROLES:
        name = getattr(names, role) or ""
        if name.startswith(OWN_PREFIX) and role not in own:
            raise ConfigurationError(
                f"this run used your own {role} ({name.removeprefix(OWN_PREFIX)}): pass "
                f"{role}= to resume it"
            )


def _dumped(options: Mapping[str, BaseModel]) -> dict[str, dict[str, Any]]:
    return {name: model.model_dump(mode="json") for name, model in options.items()}
