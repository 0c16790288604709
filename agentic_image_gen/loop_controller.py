"""The agentic loop: generate, save, evaluate, stop or refine. It knows only the Protocols.

Every step is journaled, so the loop can also pick up a run folder where it stopped: an
image without a score is evaluated, a journaled refinement is used, nothing is done twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentic_image_gen import references as reference_loader
from agentic_image_gen.errors import AigError, ProviderError, RunFailed, RunInterrupted
from agentic_image_gen.imaging import NotAnImage, inspect_image
from agentic_image_gen.providers.base import Providers
from agentic_image_gen.run_store import RunStatus, RunStore
from agentic_image_gen.settings import RunConfig, public_dump
from agentic_image_gen.types import (
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    Iteration,
    ReferenceImage,
    RunResult,
    StopReason,
)

Stage = Literal["generating", "evaluating", "refining", "scored", "done"]


@dataclass(frozen=True)
class LoopEvent:
    """Progress for whoever watches (the CLI prints these to stderr)."""

    stage: Stage
    iteration: int
    result: RunResult


EventSink = Callable[[LoopEvent], None]


async def run_image_generation_loop(
    config: RunConfig,
    providers: Providers,
    on_event: EventSink | None = None,
    *,
    store: RunStore | None = None,
) -> RunResult:
    """Run until the score reaches the threshold or the iteration cap.

    With ``store`` (an existing run folder) the run resumes where its journal stops. Raises
    RunFailed (or RunInterrupted on cancellation) carrying the partial result, so the caller
    can still report everything finished so far.
    """
    if store is None:
        references = tuple(
            await reference_loader.load_all(config.refs, allow_private=config.allow_private_urls)
        )
        store = await asyncio.to_thread(
            RunStore.create, config.out_dir, config.prompt, public_dump(config)
        )
        for number, reference in enumerate(references, start=1):
            await asyncio.to_thread(store.save_reference, number, reference)
    else:
        store.journal.config = public_dump(config)  # e.g. a raised --max-iterations
        # The copies in the run folder, exactly as they were sent the first time.
        stored = [reference.path for reference in store.journal.references]
        references = tuple(await reference_loader.load_all(stored))
    run = _Run(config, providers, store, references, on_event)
    return await run.drive()


class _Run:
    def __init__(
        self,
        config: RunConfig,
        providers: Providers,
        store: RunStore,
        references: tuple[ReferenceImage, ...],
        on_event: EventSink | None,
    ) -> None:
        self.config = config
        self.providers = providers
        self.store = store
        self.references = references
        self.on_event = on_event
        self.result = store.journal.result
        self.result.stop_reason = self.result.error = None
        self.images: dict[int, GeneratedImage] = {}

    def emit(self, stage: Stage, iteration: int) -> None:
        if self.on_event is not None:
            self.on_event(LoopEvent(stage, iteration, self.result))

    async def journal(self, status: RunStatus = "running") -> None:
        await asyncio.to_thread(self.store.update, self.result, status)

    async def drive(self) -> RunResult:
        result = self.result
        try:
            while (reason := await self.step()) is None:
                pass
            result.stop_reason = reason
        except AigError as exc:
            result.stop_reason, result.error = "error", str(exc)
            await self.journal("failed")
            raise RunFailed(exc, result) from exc
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            result.stop_reason = "interrupted"
            self.store.update(result, "interrupted")
            raise RunInterrupted(result) from exc
        await self.journal("completed")
        self.emit("done", len(result.iterations))
        return result

    async def step(self) -> StopReason | None:
        """Do the next missing piece of work; return why the run is over, if it is."""
        last = self.result.iterations[-1] if self.result.iterations else None
        if last is not None and last.evaluation is None:
            await self.evaluate(last)
            return None
        if last is not None:
            if last.score >= self.config.threshold:
                return "threshold"
            if last.index >= self.config.max_iterations:
                return "max_iterations"
            if self.result.pending_prompt is None:
                await self.refine(last.index)
        await self.generate(last)
        return None

    async def refine(self, index: int) -> None:
        self.emit("refining", index)
        prompter = self.providers.prompter
        self.result.pending_prompt = await prompter.generate_prompt(
            self.config.prompt, self.result.iterations
        )
        self.result.thread_id = prompter.conversation_id
        await self.journal()

    async def generate(self, last: Iteration | None) -> None:
        index = 1 if last is None else last.index + 1
        prompt = self.result.pending_prompt or self.config.prompt
        self.emit("generating", index)
        started = time.monotonic()
        image = await self.providers.generator.generate_image(
            GenerationRequest(
                prompt=prompt,
                settings=self.config.image,
                references=self.references,
                context=None if last is None else last.context,
            )
        )
        path = await asyncio.to_thread(self.store.save_image, index, image)
        self.images[index] = image
        self.result.iterations.append(
            Iteration(
                index=index,
                prompt=prompt,
                image_path=str(path),
                width=image.width,
                height=image.height,
                output_format=image.output_format,
                context=image.context,
                revised_prompt=image.revised_prompt,
                generation_seconds=round(time.monotonic() - started, 3),
            )
        )
        self.result.pending_prompt = None
        await self.journal()

    async def evaluate(self, iteration: Iteration) -> None:
        self.emit("evaluating", iteration.index)
        image = self.images.pop(iteration.index, None)
        if image is None:
            image = await asyncio.to_thread(_reload, iteration)
        started = time.monotonic()
        iteration.evaluation = await self.providers.evaluator.evaluate_image(
            EvaluationRequest(
                image, iteration.prompt, self.config.prompt, self.config.image, self.references
            )
        )
        iteration.evaluation_seconds = round(time.monotonic() - started, 3)
        await self.journal()
        self.emit("scored", iteration.index)


def _reload(iteration: Iteration) -> GeneratedImage:
    """An image saved before a crash, read back to be evaluated."""
    try:
        data = Path(iteration.image_path).read_bytes()
        inspect_image(data)
    except (OSError, NotAnImage) as exc:
        raise ProviderError(f"cannot read back {iteration.image_path}: {exc}") from exc
    return GeneratedImage(
        data=data,
        output_format=iteration.output_format,
        width=iteration.width,
        height=iteration.height,
        context=iteration.context,
        revised_prompt=iteration.revised_prompt,
    )
