"""Work a run does beside its rounds, off the critical path: the checklist every image is
judged against (derived once, beside round 1) and the prompter's set-up (beside round 1,
only when a slot is free, so it never delays the first image)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from agentic_image_gen.core.checklist import Requirement
from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.output import RunStatus
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import ReferenceImage
from agentic_image_gen.engine import tasks
from agentic_image_gen.providers.base import ChecklistDeriver, Preparer, Providers


class SideWork:
    def __init__(
        self,
        config: RunConfig,
        result: RunResult,
        providers: Providers,
        slots: asyncio.Semaphore,
        journal: Callable[[RunStatus, bool], Awaitable[None]],
    ) -> None:
        self.config = config
        self.result = result
        self.providers = providers
        self.slots = slots
        self.journal = journal
        self.brief = config.prompt
        self.references: tuple[ReferenceImage, ...] = ()
        self.checklist_task: asyncio.Task[None] | None = None
        self.prepare_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._start_checklist()
        self._start_preparing()

    async def stop(self) -> None:
        """A run that ends early must not leave side work running or its error unread."""
        await tasks.stop(self.checklist_task)
        await tasks.stop(self.prepare_task)

    def _start_checklist(self) -> None:
        evaluator = self.providers.evaluator
        if self.result.checklist is not None or not isinstance(evaluator, ChecklistDeriver):
            return

        async def derive() -> None:
            async with self.slots:
                self.result.checklist = await evaluator.derive_checklist(
                    self.brief, self.references
                )
            await self.journal("running", False)

        self.checklist_task = asyncio.create_task(derive())

    def _start_preparing(self) -> None:
        prompter = self.providers.prompter
        busy = self.config.candidates + (self.checklist_task is not None)
        rounds_done = max(self.result.rounds(), default=1)  # a resumed run may have some
        if (
            rounds_done >= self.config.max_iterations  # no refinement can follow
            or not isinstance(prompter, Preparer)
            or busy >= self.config.max_concurrency
        ):
            return

        async def prepare() -> None:
            async with self.slots:
                await prompter.prepare()

        self.prepare_task = asyncio.create_task(prepare())

    async def checklist(self) -> tuple[Requirement, ...]:
        if self.checklist_task is not None:
            await self.checklist_task
        return tuple(self.result.checklist or ())

    async def prepared(self) -> None:
        if self.prepare_task is not None:
            await self.prepare_task
