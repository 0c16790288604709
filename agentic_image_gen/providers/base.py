"""What a provider is: the role Protocols, the optional capabilities, and its ProviderSpec.

A provider is a package that exposes one :class:`ProviderSpec` under the entry-point group
``agentic_image_gen.providers`` (the built-ins register the same way, in pyproject.toml). The
spec names the provider, its components per role, a typed options model and how to tell
whether it is usable; components are built by ``"module:attribute"`` factories imported only
when chosen, so ``--help`` and ``providers`` never pay for an SDK.

Providers import only ``agentic_image_gen.core``, this module and their own package (plus the
pixel helpers of ``agentic_image_gen.inputs``); the engine imports only this module and
registry.py, which reads the installed specs from entry points.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from agentic_image_gen.core.checklist import Requirement
from agentic_image_gen.core.config import ProviderNames, RunConfig, problems
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.limits import Limiter
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
    RegionEditRequest,
)
from agentic_image_gen.core.usage import PriceTable, UsageLedger

ENTRY_POINT_GROUP = "agentic_image_gen.providers"
Role = Literal["generator", "evaluator", "prompter"]
ROLES: tuple[Role, ...] = ("generator", "evaluator", "prompter")
T = TypeVar("T")
OptionsT = TypeVar("OptionsT", bound=BaseModel)


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
class UsesProduct(Protocol):
    """A component that works from the first reference's product cut (optional role): a
    reference that shows no usable product then stops the run before its folder is made."""

    uses_product: bool


@runtime_checkable
class Continuing(Protocol):
    """A generator that says how it carries one round into the next (optional role), e.g.
    "stored" (the provider's server keeps the turn) or "stateless" (the image is sent back);
    the run's result reports it."""

    @property
    def continuation(self) -> str | None: ...


@runtime_checkable
class Varying(Protocol):
    """A deterministic generator that knows how many different pictures it can make for a
    turn (optional role): the loop makes no more candidates in a round than that, and says
    so, rather than repeat a picture."""

    def variants(self, request: GenerationRequest) -> int: ...


@runtime_checkable
class ScenePainter(Protocol):
    """A generator that, given a locked product, paints the scene around it but may still
    touch the product's pixels (a diffusion model does): the engine composites the product's
    own pixels back over every image it makes (optional role)."""

    @property
    def paints_around_locked_products(self) -> bool: ...


@runtime_checkable
class RegionEditor(Protocol):
    """A generator that can repaint one region of an image and keep the rest (optional
    role): a person draws the region and describes the change (engine/edit.py)."""

    async def edit_region(self, request: RegionEditRequest) -> GeneratedImage: ...


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


@dataclass(frozen=True)
class ProductCut:
    """The product alone, as a segmenter cut it from a reference: straight (unpremultiplied)
    sRGB colour and alpha, H x W x 3 and H x W float32 arrays in [0, 1], cropped to it;
    ``origin`` is the crop's top-left corner in the image it was cut from."""

    rgb: Any
    alpha: Any
    segmenter: str  # the name that ran ("alpha-channel" when the photo had its own)
    origin: tuple[int, int] = (0, 0)


@runtime_checkable
class ProductCutter(Protocol):
    """What anything that needs the product's own pixels asks (a studio, a completeness
    check, a locked scene, the fidelity figure): one cut per reference per run."""

    # The concrete segmenter this cutter runs (what ``auto`` stood for), journaled with the
    # run so a resume cuts with the same one.
    segmenter: str

    # ``alone``: the product must be cut out by itself, or the cutter raises
    # UnusableReference (a locked product is pasted into every image, so a cut that kept
    # skin, a prop or the backdrop must not be); other cuts (of a generated image, to
    # measure it) are taken as they come.
    async def cut(self, reference: ReferenceImage, *, alone: bool = False) -> ProductCut: ...


class Resources:
    """What a session shares across its runs: expensive, long-lived things (HTTP clients, a
    loaded model), each made once per key and closed when the session closes."""

    def __init__(self, env: Mapping[str, str], exit_stack: AsyncExitStack) -> None:
        self.env = env
        self._exit_stack = exit_stack
        self._made: dict[Hashable, Any] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def shared(
        self,
        key: Hashable,
        make: Callable[[], Awaitable[T]],
        close: Callable[[T], Awaitable[None]] | None = None,
    ) -> T:
        """The resource under ``key``, made on first use (once, even when runs race for it)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._made:
                made = await make()
                if close is not None:
                    self._exit_stack.push_async_callback(close, made)
                self._made[key] = made
        resource: T = self._made[key]
        return resource


@dataclass
class ProviderContext:
    """What a component's factory receives: the run's config, this provider's options, the
    session's shared resources, and the run's own state (ledger, retry budget, caches).
    ``provider`` is the name of the provider being built (the key of its rate limit)."""

    config: RunConfig
    exit_stack: AsyncExitStack  # closes, at the end of the run, what the run opened
    options: BaseModel | None = None
    shared_resources: Resources | None = None  # the session's; None: the run's own
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    ledger: UsageLedger = field(default_factory=UsageLedger)
    conversation_id: str | None = None  # a resumed run's prompter conversation
    run_cache: dict[str, Any] = field(default_factory=dict)  # per run: cut-outs, previews
    cutter: ProductCutter | None = None  # the run's segmenter, when a provider offers one
    resuming: bool = False  # a resumed run: reuse what was journaled, never re-choose
    provider: str = ""
    limiter: Limiter | None = None  # shared with other runs (a catalog's): rates and budget

    @property
    def resources(self) -> Resources:
        if self.shared_resources is None:  # no session: what it opens lives with the run
            self.shared_resources = Resources(os.environ, self.exit_stack)
        return self.shared_resources

    @property
    def env(self) -> Mapping[str, str]:
        return self.resources.env

    @property
    def max_cost(self) -> float | None:
        """The budget the run's spending counts against: its own, else the one it shares."""
        if self.config.max_cost is not None or self.limiter is None:
            return self.config.max_cost
        return self.limiter.max_cost

    def options_as(self, kind: type[OptionsT]) -> OptionsT:
        """This provider's options, typed (the defaults when a test builds a bare context)."""
        return self.options if isinstance(self.options, kind) else kind()


class NoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Component:
    """One role a provider fills, under a name the user chooses it by (``--generator NAME``)."""

    role: Role
    name: str
    # "module:attribute" of a class with an async ``create(context)`` (or of such a function),
    # imported only when chosen; or the async function itself (a provider made in a script).
    factory: str | Callable[[ProviderContext], Awaitable[Any]]
    summary: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the registry knows it. ``defaults`` are the components ``--provider
    NAME`` picks per role; ``env`` maps option fields to environment variables; ``check``
    says what is missing to use it now (None: usable); ``auto_rank`` orders the providers
    ``--provider auto`` considers (highest usable first; None: never chosen by auto)."""

    name: str
    summary: str
    components: tuple[Component, ...]
    defaults: Mapping[Role, str]
    options: type[BaseModel] = NoOptions
    env: Mapping[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()  # what a user must provide, for ``providers`` (e.g. a key)
    check: Callable[[BaseModel, Mapping[str, str]], str | None] | None = None
    prices: PriceTable = field(default_factory=PriceTable)
    auto_rank: int | None = None
    # Segmentation this provider offers to every run (``--segmenter``): the names it knows,
    # an async factory "module:function" (context, name) -> ProductCutter, and a function
    # that fetches named models ahead of time (names) -> list of paths.
    segmenters: tuple[str, ...] = ()
    cutter: str | None = None
    fetcher: str | None = None

    def given(self, config: RunConfig) -> dict[str, Any]:
        """The options a run config gives this provider: those under ``"*"`` (flags such as
        ``--image-model``, for every provider that declares the option), then its own."""
        shared = config.provider_options.get("*", {})
        declared = {key: value for key, value in shared.items() if key in self.options.model_fields}
        return {**declared, **config.provider_options.get(self.name, {})}

    def resolve_options(self, given: Mapping[str, Any], env: Mapping[str, str]) -> BaseModel:
        """Defaults, then the environment, then what the run config says; validated."""
        values = {name: env[var] for name, var in self.env.items() if env.get(var, "").strip()}
        values.update(given)
        try:
            return self.options.model_validate(values)
        except ValidationError as exc:
            found = "; ".join(
                f"{field or 'options'}: {message}" for field, message in problems(exc)
            )
            raise InputError(f"provider {self.name!r} options: {found}") from exc

    def problem(self, options: BaseModel, env: Mapping[str, str]) -> str | None:
        return None if self.check is None else self.check(options, env)


@dataclass(frozen=True)
class Providers:
    generator: ImageGenerator
    evaluator: Evaluator
    prompter: Prompter
    cutter: ProductCutter | None = None  # the run's segmenter (fidelity, locked scenes)
    names: ProviderNames = field(default_factory=lambda: ProviderNames(provider="custom"))
