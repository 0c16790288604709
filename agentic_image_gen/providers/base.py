"""The three roles the loop drives, and the registry that builds them by name.

The loop imports only this module. A provider is a class with an async ``create(context)``
factory; the registry names it by ``"module:Class"`` so nothing is imported until chosen
(which keeps ``--help`` fast and lets a new vendor be one new module).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentic_image_gen.core.checklist import Requirement
from agentic_image_gen.core.config import ProviderNames, RunConfig
from agentic_image_gen.core.errors import ConfigurationError
from agentic_image_gen.core.retry import RetryPolicy
from agentic_image_gen.core.types import (
    Comparison,
    Evaluation,
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    ImageSettings,
    Iteration,
    ReferenceImage,
)
from agentic_image_gen.core.usage import UsageLedger


@runtime_checkable
class ImageGenerator(Protocol):
    async def generate_image(self, request: GenerationRequest) -> GeneratedImage:
        """Make one image; ``request.context`` continues the previous turn when set."""
        ...


@runtime_checkable
class CostEstimator(Protocol):
    """A generator that can price an image before making it (optional role): with
    ``--max-cost``, a run whose first round the budget cannot cover spends nothing."""

    def image_cost(self, settings: ImageSettings) -> float | None:
        """Estimated USD for one image at these settings; None when the price is unknown."""
        ...


@runtime_checkable
class Evaluator(Protocol):
    async def evaluate_image(self, request: EvaluationRequest) -> Evaluation:
        """Score 0-100 against the user's request, with an actionable critique."""
        ...


@runtime_checkable
class ChecklistDeriver(Protocol):
    """An evaluator that judges against a checklist derived once per run (optional role)."""

    async def derive_checklist(
        self, original_prompt: str, references: tuple[ReferenceImage, ...]
    ) -> list[Requirement]: ...


@runtime_checkable
class Comparer(Protocol):
    """An evaluator that can break a near-tie between two images (optional role)."""

    async def compare_images(
        self, first: EvaluationRequest, second: EvaluationRequest
    ) -> Comparison: ...


@runtime_checkable
class Prompter(Protocol):
    @property
    def conversation_id(self) -> str | None:
        """The id of the conversation kept across refinements, if the provider keeps one."""
        ...

    async def generate_prompt(self, original_prompt: str, history: Sequence[Iteration]) -> str:
        """The next prompt, from the user's request and every iteration so far."""
        ...


@runtime_checkable
class Preparer(Protocol):
    """A prompter with set-up work its first refinement needs, e.g. a server-side
    conversation (optional role). The loop runs it beside round 1, off the critical path."""

    async def prepare(self) -> None: ...


@dataclass
class ProviderContext:
    """What factories share for one run: the config, a cache (one API client per run) and
    an exit stack that closes whatever they opened."""

    config: RunConfig
    exit_stack: AsyncExitStack
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    ledger: UsageLedger = field(default_factory=UsageLedger)
    conversation_id: str | None = None  # a resumed run's prompter conversation
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Providers:
    generator: ImageGenerator
    evaluator: Evaluator
    prompter: Prompter
    ledger: UsageLedger = field(default_factory=UsageLedger)


_OPENAI = "agentic_image_gen.providers.openai"
_LOCAL = "agentic_image_gen.providers.local"
GENERATORS: dict[str, str] = {
    "openai": f"{_OPENAI}.image_gen:OpenAIImageGenerator",
    "studio": f"{_LOCAL}.studio:StudioGenerator",
}
EVALUATORS: dict[str, str] = {
    "checklist": f"{_OPENAI}.checklist:ChecklistEvaluator",
    "rubric": f"{_OPENAI}.evaluator:OpenAIEvaluator",
    "technical": f"{_LOCAL}.technical:TechnicalEvaluator",
}
PROMPTERS: dict[str, str] = {
    "openai": f"{_OPENAI}.prompter:OpenAIPrompter",
    "rules": f"{_LOCAL}.rules:RulesPrompter",
}


async def _create(registry: dict[str, str], role: str, name: str, context: ProviderContext) -> Any:
    target = registry.get(name)
    if target is None:
        known = ", ".join(sorted(registry))
        raise ConfigurationError(f"unknown {role} {name!r} (known: {known})")
    module_name, _, class_name = target.partition(":")
    provider_class = getattr(importlib.import_module(module_name), class_name)
    return await provider_class.create(context)


async def build_providers(context: ProviderContext, names: ProviderNames) -> Providers:
    return Providers(
        generator=await _create(GENERATORS, "generator", names.generator, context),
        evaluator=await _create(EVALUATORS, "evaluator", names.evaluator, context),
        prompter=await _create(PROMPTERS, "prompter", names.prompter, context),
        ledger=context.ledger,
    )
