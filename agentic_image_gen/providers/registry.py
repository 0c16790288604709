"""The provider registry: every installed provider, read from entry points (the built-ins
register the same way, in pyproject.toml); a broken plugin is reported, not fatal."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any

from agentic_image_gen.core.config import Installed, ProviderNames, RunConfig
from agentic_image_gen.core.errors import ConfigurationError, InputError
from agentic_image_gen.core.usage import PriceTable
from agentic_image_gen.providers.base import (
    ENTRY_POINT_GROUP,
    Component,
    ProductCutter,
    ProviderContext,
    ProviderSpec,
    Role,
)


class Registry:
    """Every installed provider, from entry points; a broken plugin is reported, not fatal."""

    def __init__(self, specs: Iterable[ProviderSpec] = ()) -> None:
        self._specs: dict[str, ProviderSpec] = {}
        self.broken: dict[str, str] = {}  # entry-point name -> why it could not be loaded
        for spec in specs:
            self.register(spec)

    @classmethod
    def installed(cls) -> Registry:
        registry = cls()
        specs, broken = _plugins()
        for spec in specs:
            registry.register(spec)
        registry.broken.update(broken)
        return registry

    def register(self, spec: ProviderSpec) -> None:
        self._specs[spec.name] = spec

    @property
    def specs(self) -> list[ProviderSpec]:
        return sorted(self._specs.values(), key=lambda spec: spec.name)

    def names(self) -> Installed:
        """Every name a run may use here (RunConfig's names are checked against it)."""
        return Installed(
            providers=tuple(sorted(self._specs)),
            components={
                role: tuple(sorted(c.name for s in self.specs for c in s.components
                                   if c.role == role))
                for role in ("generator", "evaluator", "prompter")
            },
            segmenters=tuple(sorted({n for spec in self.specs for n in spec.segmenters})),
            broken=dict(self.broken),
        )

    def spec(self, name: str) -> ProviderSpec:
        if name not in self._specs:
            if name in self.broken:
                raise ConfigurationError(
                    f"provider {name!r} is installed but broken: {self.broken[name]}"
                )
            raise ConfigurationError(
                f"unknown provider {name!r} (known: {', '.join(['auto', *sorted(self._specs)])})"
            )
        return self._specs[name]

    def component(self, role: Role, name: str) -> tuple[ProviderSpec, Component]:
        for spec in self.specs:
            for component in spec.components:
                if component.role == role and component.name == name:
                    return spec, component
        known = sorted(c.name for s in self.specs for c in s.components if c.role == role)
        raise ConfigurationError(f"unknown {role} {name!r} (known: {', '.join(known)})")

    def choose(self, config: RunConfig, env: Mapping[str, str]) -> ProviderNames:
        """The component for each role: the run's provider set (``auto``: the best usable
        one), with any role the config names overriding it."""
        chosen = config.providers
        provider = chosen.provider
        if provider == "auto":
            provider = self._auto(config, env)
        spec = self.spec(provider)
        return ProviderNames(
            provider=provider,
            generator=chosen.generator or spec.defaults["generator"],
            evaluator=chosen.evaluator or spec.defaults["evaluator"],
            prompter=chosen.prompter or spec.defaults["prompter"],
        )

    def _auto(self, config: RunConfig, env: Mapping[str, str]) -> str:
        ranked = sorted(
            (spec for spec in self.specs if spec.auto_rank is not None),
            key=lambda spec: -(spec.auto_rank or 0),
        )
        for spec in ranked:
            options = spec.resolve_options(spec.given(config), env)
            if spec.problem(options, env) is None:
                return spec.name
        raise ConfigurationError("no provider is usable here (see: agentic-image-gen providers)")

    async def create(
        self, role: Role, name: str, context: ProviderContext, options: Any = None
    ) -> Any:
        """Build one component with its provider's resolved ``options`` (resolved here, from
        the run config and the environment, only when none are given)."""
        spec, component = self.component(role, name)
        if options is None:
            options = spec.resolve_options(spec.given(context.config), context.env)
        if (problem := spec.problem(options, context.env)) is not None:
            raise ConfigurationError(problem)
        # The run's state stays shared; the name keys the provider's rate limit.
        context = replace(context, options=options, provider=spec.name)
        factory = component.factory
        if isinstance(factory, str):
            target = _imported(factory)
            factory = getattr(target, "create", target)
        return await factory(context)

    def _segmenting(self, name: str | None) -> ProviderSpec:
        for spec in self.specs:
            if spec.cutter and (name is None or name in spec.segmenters):
                return spec
        known = sorted({n for spec in self.specs for n in spec.segmenters})
        raise InputError(f"unknown segmenter {name!r} (known: {', '.join(known) or 'none'})")

    async def cutter(self, context: ProviderContext, name: str | None) -> ProductCutter:
        """The run's product cutter by ``name`` (None: the first provider's default); its
        ``segmenter`` says the concrete name ``auto`` stood for."""
        spec = self._segmenting(name)
        assert spec.cutter is not None
        made: ProductCutter = await _imported(spec.cutter)(context, name)
        return made

    def fetch_models(self, names: Sequence[str]) -> list[str]:
        """Download named models ahead of time (each provider fetches what it knows)."""
        paths: list[str] = []
        for name in names:
            spec = self._segmenting(name)
            if spec.fetcher is None:
                raise InputError(f"segmenter {name!r} has nothing to fetch")
            fetched = _imported(spec.fetcher)([name])
            found = fetched.values() if isinstance(fetched, Mapping) else fetched
            paths += [str(path) for path in found]
        return paths

    def prices(self) -> PriceTable:
        """Every provider's own price table, merged."""
        table = PriceTable()
        for spec in self.specs:
            table = table.merged(spec.prices)
        return table


@functools.cache
def _plugins() -> tuple[tuple[ProviderSpec, ...], tuple[tuple[str, str], ...]]:
    """The installed providers and the broken ones (name, why), read once per process:
    scanning every package's entry points takes ~10 ms, which each new session would spend
    again. A plugin installed while a process runs is seen by the next one."""
    specs: list[ProviderSpec] = []
    broken: list[tuple[str, str]] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            spec = loaded() if callable(loaded) else loaded
            if not isinstance(spec, ProviderSpec):
                raise TypeError(f"{point.value} is not a ProviderSpec")
            specs.append(spec)
        except (Exception, SystemExit) as exc:  # a plugin's bug must not break every run
            broken.append((point.name, f"{type(exc).__name__}: {exc}"))
    return tuple(specs), tuple(broken)


def _imported(target: str) -> Any:
    """``"module:attribute"``, imported now (a provider's code loads only when used)."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
