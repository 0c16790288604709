"""Providers made inside a test, registered the way any plugin is (a ProviderSpec), and run
through the engine's public Session: tests never assemble a run by hand."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentic_image_gen.core.config import ProviderNames, RunConfig
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.engine.session import Session
from agentic_image_gen.providers.base import Component, ProviderContext, ProviderSpec
from agentic_image_gen.providers.registry import Registry


@dataclass(frozen=True)
class FromContext:
    """A provider the test builds from the run's context (e.g. to record in its ledger)."""

    make: Callable[[ProviderContext], Any]


def _factory(made: Any) -> Any:
    async def create(context: ProviderContext) -> Any:
        return made.make(context) if isinstance(made, FromContext) else made

    return create


def scripted_spec(
    generator: Any, evaluator: Any, prompter: Any, name: str = "test"
) -> ProviderSpec:
    return ProviderSpec(
        name=name,
        summary="made by a test",
        components=(
            Component("generator", f"{name}-generator", _factory(generator)),
            Component("evaluator", f"{name}-evaluator", _factory(evaluator)),
            Component("prompter", f"{name}-prompter", _factory(prompter)),
        ),
        defaults={
            "generator": f"{name}-generator",
            "evaluator": f"{name}-evaluator",
            "prompter": f"{name}-prompter",
        },
    )


def scripted_session(
    generator: Any, evaluator: Any, prompter: Any, env: Mapping[str, str] | None = None
) -> Session:
    registry = Registry([scripted_spec(generator, evaluator, prompter)])
    return Session(registry=registry, env=env or {})


def with_scripted(config: RunConfig) -> RunConfig:
    return config.model_copy(update={"providers": ProviderNames(provider="test")})


async def run_scripted(
    config: RunConfig, generator: Any, evaluator: Any, prompter: Any
) -> RunResult:
    """One run of ``config`` with these providers (objects, or functions of the context)."""
    async with scripted_session(generator, evaluator, prompter) as session:
        return await session.run(with_scripted(config))
