"""The agentic loop: generate, save, evaluate, stop or refine. It knows only the Protocols."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agentic_image_gen import references as reference_loader
from agentic_image_gen.errors import AigError, RunFailed
from agentic_image_gen.providers.base import Providers
from agentic_image_gen.run_store import RunStore
from agentic_image_gen.settings import RunConfig, public_dump
from agentic_image_gen.types import EvaluationRequest, GenerationRequest, Iteration, RunResult

Stage = Literal["generating", "evaluating", "refining", "scored", "done"]


@dataclass(frozen=True)
class LoopEvent:
    """Progress for whoever watches (the CLI prints these to stderr)."""

    stage: Stage
    iteration: int
    result: RunResult


EventSink = Callable[[LoopEvent], None]


async def run_image_generation_loop(
    config: RunConfig, providers: Providers, on_event: EventSink | None = None
) -> RunResult:
    """Run until the score reaches the threshold or the iteration cap; every step is journaled.

    Raises RunFailed (carrying the partial result) when a step fails after the run folder
    exists, so the caller can still report everything finished so far.
    """
    references = tuple(
        await reference_loader.load_all(config.refs, allow_private=config.allow_private_urls)
    )
    store = await asyncio.to_thread(
        RunStore.create, config.out_dir, config.prompt, public_dump(config)
    )
    for number, reference in enumerate(references, start=1):
        await asyncio.to_thread(store.save_reference, number, reference)
    result = store.journal.result

    def emit(stage: Stage, iteration: int) -> None:
        if on_event is not None:
            on_event(LoopEvent(stage, iteration, result))

    prompt, context = config.prompt, None
    try:
        for index in range(1, config.max_iterations + 1):
            emit("generating", index)
            started = time.monotonic()
            image = await providers.generator.generate_image(
                GenerationRequest(
                    prompt=prompt,
                    settings=config.image,
                    references=references,
                    context=context,
                )
            )
            path = await asyncio.to_thread(store.save_image, index, image)
            iteration = Iteration(
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
            result.iterations.append(iteration)
            await asyncio.to_thread(store.update, result)

            emit("evaluating", index)
            started = time.monotonic()
            iteration.evaluation = await providers.evaluator.evaluate_image(
                EvaluationRequest(image, prompt, config.prompt, config.image, references)
            )
            iteration.evaluation_seconds = round(time.monotonic() - started, 3)
            await asyncio.to_thread(store.update, result)
            emit("scored", index)

            if iteration.score >= config.threshold:
                result.stop_reason = "threshold"
                break
            if index == config.max_iterations:
                result.stop_reason = "max_iterations"
                break
            emit("refining", index)
            prompt = await providers.prompter.generate_prompt(config.prompt, result.iterations)
            result.thread_id = providers.prompter.conversation_id
            context = image.context
    except AigError as exc:
        result.stop_reason, result.error = "error", str(exc)
        await asyncio.to_thread(store.update, result, "failed")
        raise RunFailed(exc, result) from exc
    except (asyncio.CancelledError, KeyboardInterrupt):
        result.stop_reason = "interrupted"
        store.update(result, "interrupted")
        raise
    await asyncio.to_thread(store.update, result, "completed")
    emit("done", len(result.iterations))
    return result
