"""The engine's front door: a Session holds what runs share; each run gets its own context.

``async with Session() as session: result = await session.run(config, on_event=...)``, or
``await session.resume(run_dir, max_iterations=5)``; ``run_sync`` does the same for scripts.
A session keeps the expensive, shareable things (HTTP clients, a loaded model) for as long
as it is open; every run has its own usage ledger, retry budget, caches and conversation, so
two runs at once in one session never share a budget.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agentic_image_gen.core.config import RESUMABLE as RESUMABLE  # the library's name for it
from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.events import EventSink
from agentic_image_gen.core.retry import RetryPolicy
from agentic_image_gen.core.types import RunResult
from agentic_image_gen.core.usage import UsageLedger
from agentic_image_gen.engine.loop import run_loop
from agentic_image_gen.engine.prices import load_prices
from agentic_image_gen.providers.base import (
    ROLES,
    ProviderContext,
    Providers,
    ProviderSpec,
    Resources,
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
        await self._stack.aclose()

    async def run(self, config: RunConfig, on_event: EventSink | None = None) -> RunResult:
        """A new run. Raises RunFailed (RunInterrupted when cancelled) with the partial result."""
        if config.lock_product and not config.refs:  # before any folder exists
            raise InputError("--lock-product needs a reference photo of the product (--refs)")
        return await self._drive(config, None, on_event)

    async def resume(
        self, run_dir: Path | str, on_event: EventSink | None = None, **overrides: Any
    ) -> RunResult:
        """Continue a stopped run from its folder, with its own settings; ``overrides`` may
        change only the limits in RESUMABLE (anything else is refused, named)."""
        store = await asyncio.to_thread(RunStore.open, Path(run_dir))
        try:
            config = resumed_config(store.journal.config, overrides)
        except BaseException:
            store.close()  # the folder's lock: refused here, the run never starts
            raise
        try:
            return await self._drive(config, store, on_event)
        finally:
            store.close()  # (the loop closes it too; closing twice is safe)

    async def _drive(
        self, config: RunConfig, store: RunStore | None, on_event: EventSink | None
    ) -> RunResult:
        registry = self.registry
        names = registry.choose(config, self.env)
        used: dict[str, ProviderSpec] = {}
        for role in ROLES:
            spec, _component = registry.component(role, getattr(names, role))
            used[spec.name] = spec
        options = {
            name: _stored(spec.resolve_options(spec.given(config), self.env))
            for name, spec in used.items()
        }
        # Journaled as resolved, so a resume makes the same choices whatever the env says then.
        config = config.model_copy(update={"providers": names, "provider_options": options})
        ledger = UsageLedger(load_prices(registry.prices(), config.prices_file))
        async with AsyncExitStack() as run_stack:
            context = ProviderContext(
                config=config,
                exit_stack=run_stack,
                shared_resources=self.resources,
                retry_policy=RetryPolicy(
                    budget=config.retry_budget, call_deadline=config.call_timeout
                ),
                ledger=ledger,
                conversation_id=store.journal.result.thread_id if store is not None else None,
            )
            if any(spec.cutter for spec in registry.specs):
                context.cutter = await registry.cutter(context, config.segmenter)
            providers = Providers(
                generator=await registry.create("generator", names.generator or "", context),
                evaluator=await registry.create("evaluator", names.evaluator or "", context),
                prompter=await registry.create("prompter", names.prompter or "", context),
                cutter=context.cutter,
                names=names,
            )
            return await run_loop(config, providers, ledger, on_event, store=store)


def _stored(options: BaseModel) -> dict[str, Any]:
    dumped: dict[str, Any] = options.model_dump(mode="json")
    return dumped


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


def run_sync(config: RunConfig, on_event: EventSink | None = None) -> RunResult:
    """One run from synchronous code (a script; in a notebook, ``await`` a Session instead)."""

    async def go() -> RunResult:
        async with Session() as session:
            return await session.run(config, on_event)

    return asyncio.run(go())
