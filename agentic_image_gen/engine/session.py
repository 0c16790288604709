"""The engine's front door: a Session holds what runs share; each run gets its own context.

``async with Session() as session: result = await session.run(config, on_event=...)``;
``async for event in session.stream(config)`` for the same run as typed events;
``await session.resume(run_dir, max_iterations=5)``; ``run_sync`` for scripts. Roles may be
handed over as objects (``generator=``, ``evaluator=``, ``prompter=``); a ``reviewer=`` answers
a run's review requests. A session keeps the expensive, shareable things (HTTP clients, a
loaded model) for as long as it is open; every run has its own usage ledger, retry budget,
caches and conversation, so two runs at once in one session never share a budget, unless
they are handed one ``limiter=`` (core/limits.py; a catalog's): then their provider calls and
their rounds' costs go through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from agentic_image_gen.core.config import RESUMABLE as RESUMABLE  # the library's name for it
from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import AigError, ConfigurationError, InputError
from agentic_image_gen.core.events import Event, EventSink
from agentic_image_gen.core.limits import Limiter
from agentic_image_gen.core.output import RunOutput, RunSummary
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.retry import RetryPolicy
from agentic_image_gen.core.review import Reviewer
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.core.usage import UsageLedger
from agentic_image_gen.engine import opening, runs
from agentic_image_gen.engine.edit import RegionEdit, edit_run, edit_support
from agentic_image_gen.engine.loop import run_loop
from agentic_image_gen.engine.prices import load_prices
from agentic_image_gen.engine.resolve import resolve
from agentic_image_gen.inputs import references as reference_loader
from agentic_image_gen.providers.base import (
    ROLES,
    Evaluator,
    ImageGenerator,
    Prompter,
    ProviderContext,
    Providers,
    Resources,
    Role,
)
from agentic_image_gen.providers.registry import Registry
from agentic_image_gen.store.run_store import RunStore


class Session:
    """Shared resources for many runs; close it (``async with``) to release them."""

    def __init__(
        self, *, registry: Registry | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self._registry = registry
        self.env: Mapping[str, str] = os.environ if env is None else env
        self._stack = AsyncExitStack()
        self.resources = Resources(self.env, self._stack)
        self._closed = False

    @property
    def registry(self) -> Registry:
        """The installed providers (read from entry points when first needed)."""
        if self._registry is None:
            self._registry = Registry.installed()
        return self._registry

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        await self._stack.aclose()

    async def run(
        self,
        config: RunConfig,
        on_event: EventSink | None = None,
        *,
        generator: ImageGenerator | None = None,
        evaluator: Evaluator | None = None,
        prompter: Prompter | None = None,
        reviewer: Reviewer | None = None,
        limiter: Limiter | None = None,
    ) -> RunResult:
        """A new run. Raises RunFailed with the partial result; cancelling it journals
        ``interrupted`` and re-raises CancelledError. Roles given as objects are used as
        they are; the others come from the registry. With a shared ``limiter`` whose budget
        cannot pay for the first round now, BudgetExhausted comes before any folder."""
        own = _own(generator=generator, evaluator=evaluator, prompter=prompter)
        return await self._drive(config, None, on_event, own, reviewer, limiter)

    async def resume(
        self,
        run_dir: Path | str,
        on_event: EventSink | None = None,
        *,
        generator: ImageGenerator | None = None,
        evaluator: Evaluator | None = None,
        prompter: Prompter | None = None,
        reviewer: Reviewer | None = None,
        limiter: Limiter | None = None,
        **overrides: Any,
    ) -> RunResult:
        """Continue a stopped run from its folder, with its own settings, as journaled;
        ``overrides`` may change only the limits in RESUMABLE (anything else is refused)."""
        self._check_open()
        own = _own(generator=generator, evaluator=evaluator, prompter=prompter)
        store = await asyncio.to_thread(RunStore.open, Path(run_dir))
        try:
            config = resumed_config(store.journal.config, overrides)
            return await self._drive(config, store, on_event, own, reviewer, limiter)
        finally:
            store.close()  # the folder's lock (the loop closes it too; twice is safe)

    async def edit(
        self,
        run_dir: Path | str,
        on_event: EventSink | None = None,
        *,
        iteration: int,
        mask: bytes,
        prompt: str,
        generator: ImageGenerator | None = None,
        evaluator: Evaluator | None = None,
        prompter: Prompter | None = None,
    ) -> RunResult:
        """A person's region edit of a stopped run (engine/edit.py): image ``iteration``
        repainted where the PNG ``mask`` is transparent, as ``prompt`` says; one more
        iteration, journaled, with the run's events. InputError when the generator cannot
        edit a region or the mask does not fit the image."""
        self._check_open()
        own = _own(generator=generator, evaluator=evaluator, prompter=prompter)
        edit = RegionEdit(iteration, mask, prompt)
        store = await asyncio.to_thread(RunStore.open, Path(run_dir))
        try:
            return await self._drive(store.journal.config, store, on_event, own, None, edit=edit)
        finally:
            store.close()

    def edit_support(self, run_dir: Path | str) -> str | None:
        """None when the run's generator can edit a region of its images; else why not."""
        return edit_support(self.registry, runs.load_journal(Path(run_dir)).config)

    async def check(self, config: RunConfig) -> None:
        """What a new run would refuse before writing its folder, checked now (a front end
        that queues runs answers at once): names, usable providers, and the references,
        loaded and decoded as the run will (ValidationError, ConfigurationError, InputError)."""
        self._check_open()
        resolution = resolve(config, self.registry, self.env, {}, resuming=False)
        for name, spec in resolution.specs.items():
            if (problem := spec.problem(resolution.options[name], self.env)) is not None:
                raise ConfigurationError(problem)
        await reference_loader.load_all(config.refs, allow_private=config.allow_private_urls)

    def stream(self, config: RunConfig, **roles: Any) -> AsyncIterator[Event]:
        """The run's typed events as they happen, ending with RunFinished (``.result``).
        A failed run raises RunFailed after its RunFinished; a run that cannot start (a bad
        reference, a name not installed) raises at once, with no events; leaving the loop
        early cancels the run (journaled ``interrupted``, resumable)."""
        return self._streamed(lambda sink: self.run(config, sink, **roles))

    def stream_resume(self, run_dir: Path | str, **kwargs: Any) -> AsyncIterator[Event]:
        """``resume`` as a stream of events (as ``stream``)."""
        return self._streamed(lambda sink: self.resume(run_dir, sink, **kwargs))

    async def _streamed(
        self, start: Callable[[EventSink], Awaitable[RunResult]]
    ) -> AsyncIterator[Event]:
        self._check_open()
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        task = asyncio.ensure_future(start(queue.put_nowait))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            await task  # a failure surfaces here, after its RunFinished
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, AigError):
                    await task

    # Views of runs that are finished or stopped: every front end reads runs through these.
    def output(self, run_dir: Path | str) -> RunOutput:
        """A run folder's output (what the run printed, with ``report`` once written)."""
        return runs.output_of(Path(run_dir))

    def runs(self, out_dir: Path | str) -> tuple[list[RunSummary], list[str]]:
        """Runs under ``out_dir``, newest first, and why any folder was skipped."""
        return runs.list_runs(Path(out_dir))

    async def report(self, run_dir: Path | str) -> Path:
        """(Re)write a run's report.html; its path."""
        return await asyncio.to_thread(runs.write_report, Path(run_dir))

    async def publish(
        self,
        result: RunResult,
        *,
        upload: str | None = None,
        public: bool = False,
        upload_report: bool = False,
    ) -> tuple[RunOutput, AigError | None]:
        """The run's output with its report written (and an upload's URLs, or its error)."""
        return await runs.publish(result, upload=upload, public=public, upload_report=upload_report)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Session is closed: open a new one to run")

    async def _drive(
        self,
        config: RunConfig,
        store: RunStore | None,
        on_event: EventSink | None,
        own: dict[Role, Any],
        reviewer: Reviewer | None,
        limiter: Limiter | None = None,
        edit: RegionEdit | None = None,
    ) -> RunResult:
        self._check_open()
        registry = self.registry
        resuming = store is not None
        resolution = resolve(config, registry, self.env, own, resuming=resuming)
        config = resolution.config
        ledger = UsageLedger(load_prices(registry.prices(), config.prices_file))
        # A new run's references load while its components are made.
        loading = opening.load_references(config) if store is None else None
        try:
            return await self._made_and_run(
                config, resolution.options, store, ledger, on_event, own, reviewer, limiter,
                edit, loading,
            )
        finally:
            if loading is not None:
                loading.cancel()  # the run ended before it needed them (a bad option, ...)

    async def _made_and_run(
        self,
        config: RunConfig,
        options: Mapping[str, Any],
        store: RunStore | None,
        ledger: UsageLedger,
        on_event: EventSink | None,
        own: dict[Role, Any],
        reviewer: Reviewer | None,
        limiter: Limiter | None,
        edit: RegionEdit | None,
        loading: asyncio.Task[tuple[ReferenceImage, ...]] | None,
    ) -> RunResult:
        """The run's components made in its own context, then its loop (or its edit)."""
        registry = self.registry
        resuming = store is not None
        async with AsyncExitStack() as run_stack:
            context = ProviderContext(
                config=config,
                exit_stack=run_stack,
                shared_resources=self.resources,
                retry_policy=RetryPolicy(
                    budget=config.retry_budget, call_deadline=config.call_timeout, limiter=limiter
                ),
                ledger=ledger,
                conversation_id=store.journal.result.thread_id if store is not None else None,
                resuming=resuming,
                limiter=limiter,
            )
            if any(spec.cutter for spec in registry.specs):
                # A journal from before segmenters were journaled names the one that cut.
                earlier = store.journal.result.segmenter if store is not None else None
                asked = config.segmenter or (earlier if earlier in _segmenters(registry) else None)
                context.cutter = await registry.cutter(context, asked)
                config = config.model_copy(update={"segmenter": context.cutter.segmenter})
                context.config = config
            made: dict[Role, Any] = {}
            for role in ROLES:
                if role in own:
                    made[role] = own[role]
                    continue
                name = getattr(config.providers, role) or ""
                spec, _ = registry.component(role, name)
                made[role] = await registry.create(role, name, context, options[spec.name])
            providers = Providers(
                generator=made["generator"],
                evaluator=made["evaluator"],
                prompter=made["prompter"],
                cutter=context.cutter,
                names=config.providers,
            )
            if edit is not None and store is not None:
                return await edit_run(config, providers, ledger, store, edit, on_event)
            return await run_loop(
                config, providers, ledger, on_event, store=store, reviewer=reviewer,
                limiter=limiter, loading=loading,
            )


def _own(**roles: Any) -> dict[Role, Any]:
    """The roles handed over as objects, checked against their Protocols."""
    protocols: dict[str, type] = {
        "generator": ImageGenerator,
        "evaluator": Evaluator,
        "prompter": Prompter,
    }
    own: dict[Role, Any] = {}
    for role, component in roles.items():
        if component is None:
            continue
        if not isinstance(component, protocols[role]):
            raise TypeError(
                f"{role}={type(component).__name__} does not satisfy the {role} Protocol "
                f"({protocols[role].__name__})"
            )
        own[role] = component  # type: ignore[index]
    return own


def _segmenters(registry: Registry) -> set[str]:
    return {name for spec in registry.specs for name in spec.segmenters}


def resumed_config(stored: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    """The stopped run's settings with the allowed limits changed."""
    refused = sorted(set(overrides) - RESUMABLE)
    if refused:
        raise InputError(
            f"a resumed run keeps its settings; only {', '.join(sorted(RESUMABLE))} may change "
            f"(not {', '.join(refused)})"
        )
    changes = {key: value for key, value in overrides.items() if value is not None}
    return RunConfig.model_validate({**stored.model_dump(), **changes})


def run_sync(config: RunConfig, on_event: EventSink | None = None, **roles: Any) -> RunResult:
    """One run from synchronous code (a script; in a notebook, ``await`` a Session instead)."""

    async def go() -> RunResult:
        async with Session() as session:
            return await session.run(config, on_event, **roles)

    return asyncio.run(go())
