"""A person's region edit: one more turn on a stopped run, journaled as its next iteration.

The person draws a mask over one of the run's images and describes the change; a generator
that can edit a region (providers/base.py: ``RegionEditor``) repaints only there. The edit is
a round of its own with one candidate, saved, evaluated and measured like any other image
(with ``lock_product`` the product's own pixels go back over it), so the report, the output
and the best-image rule treat it as one more iteration. The run keeps the reason it stopped.
"""

from __future__ import annotations

import asyncio
import importlib
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.events import EventSink
from agentic_image_gen.core.result import RunResult, StopReason
from agentic_image_gen.core.types import Iteration, RegionEditRequest
from agentic_image_gen.core.usage import UsageLedger
from agentic_image_gen.engine import budget, opening
from agentic_image_gen.engine.loop import _Run
from agentic_image_gen.engine.tasks import Slot
from agentic_image_gen.inputs.mask import edit_mask
from agentic_image_gen.providers.base import Providers, RegionEditor
from agentic_image_gen.providers.registry import Registry
from agentic_image_gen.store.run_store import RunStore

MAX_EDIT_PROMPT_CHARS = 4_000


@dataclass(frozen=True)
class RegionEdit:
    """What the person asked: ``iteration`` (its index) changed where ``mask`` is transparent."""

    iteration: int
    mask: bytes
    prompt: str


def edit_support(registry: Registry, config: RunConfig) -> str | None:
    """None when the run's generator can edit a region; else why not, in one line (a front
    end shows its control disabled with this reason)."""
    name = config.providers.generator or ""
    try:
        _, component = registry.component("generator", name)
    except Exception:  # a generator of the caller's own, or one no longer installed
        return f"the generator {name!r} is not installed here"
    target = component.factory
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
    if callable(getattr(target, "edit_region", None)):
        return None
    return f"the {name} generator cannot edit a region of an image"


async def edit_run(
    config: RunConfig,
    providers: Providers,
    ledger: UsageLedger,
    store: RunStore,
    edit: RegionEdit,
    on_event: EventSink | None,
) -> RunResult:
    """Play ``edit`` as the run's next iteration; events and endings as in a run."""
    generator = providers.generator
    if not isinstance(generator, RegionEditor):
        raise InputError(f"the {config.providers.generator} generator cannot edit a region")
    result = store.journal.result
    stopped = result.stop_reason
    if stopped is None:
        raise InputError("this run has not stopped: resume or cancel it before editing")
    source = next((it for it in result.iterations if it.index == edit.iteration), None)
    if source is None:
        raise InputError(f"the run has no image {edit.iteration}")
    prompt = " ".join(edit.prompt.split())
    if not prompt or len(prompt) > MAX_EDIT_PROMPT_CHARS:
        raise InputError(f"describe the change in 1 to {MAX_EDIT_PROMPT_CHARS} characters")
    mask = await asyncio.to_thread(edit_mask, edit.mask, (source.width, source.height))
    share = budget.Share(None, ledger, config, generator)  # an edit is the run's own
    await share.open(result)  # the run's earlier calls stay in its ledger
    store, references = await opening.open_folder(config, store)
    turn = _Edit(config, providers, ledger, store, references, on_event, None, share)
    turn.plan = (source, mask, prompt, stopped, result.error)
    try:
        return await turn.drive()
    finally:
        store.close()


class _Edit(_Run):
    """A run whose only work is the edit (the rest, journaling and endings, is the loop's)."""

    plan: tuple[Iteration, bytes, str, StopReason, str | None]

    async def work(self) -> StopReason:
        """One turn; the run's checklist (if any) was journaled by its rounds."""
        source, mask, prompt, stopped, error = self.plan
        generator = self.providers.generator
        assert isinstance(generator, RegionEditor)
        await self.lock.prepare(self.providers.cutter, self.references, self.config.image)
        number = max(self.result.rounds(), default=0) + 1
        index = self.next_index
        self.next_index += 1
        self.stage("generating", Slot(index, number, 1))
        started = time.monotonic()
        data = await asyncio.to_thread(Path(source.image_path).read_bytes)
        mime_type = mimetypes.guess_type(source.image_path)[0] or "image/png"
        request = RegionEditRequest(
            prompt, data, mime_type, mask, self.config.image, self.references
        )
        async with self.slots:
            image = await generator.edit_region(request)
        image = await self.lock.apply(generator, image)
        iteration = Iteration.made(
            image, index=index, round=number, candidate=1, prompt=prompt,
            image_path=str(self.store.image_path(index, image.output_format)),
            seconds=round(time.monotonic() - started, 3),
        )
        await self.keep(iteration, image)
        await self.finish(iteration, image)
        self.result.error = error  # a failed run stays failed, with its reason
        return stopped
