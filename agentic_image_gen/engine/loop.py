"""The agentic loop: generate, save, evaluate, stop or refine. It knows only the Protocols.

Every step is journaled, so the loop can also pick up a run folder where it stopped: an
image without a score is evaluated, a journaled refinement is used, nothing is done twice.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections.abc import Callable

from agentic_image_gen.core.checklist import Requirement
from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import AigError, RunFailed, RunInterrupted
from agentic_image_gen.core.events import (
    Event,
    EventSink,
    ImageScored,
    RunFinished,
    RunStarted,
    Snapshot,
    Stage,
    StageStarted,
)
from agentic_image_gen.core.profiles import PROFILES, with_brief
from agentic_image_gen.core.types import (
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    Iteration,
    ReferenceImage,
    RunResult,
    StopReason,
    TieBreak,
)
from agentic_image_gen.core.usage import UsageLedger
from agentic_image_gen.engine import budget, lock, opening, plateau, tasks
from agentic_image_gen.engine.deliver import deliver_best
from agentic_image_gen.engine.fidelity import FidelityMeter
from agentic_image_gen.engine.tasks import Slot
from agentic_image_gen.providers.base import (
    ChecklistDeriver,
    Comparer,
    Continuing,
    Preparer,
    Providers,
)
from agentic_image_gen.store.run_store import JournalWriter, RunStatus, RunStore, read_back


async def run_loop(
    config: RunConfig,
    providers: Providers,
    ledger: UsageLedger,
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
        budget.check_first_round(config, providers.generator)
    store, references = await opening.open_folder(config, store)
    run = _Run(config, providers, ledger, store, references, on_event)
    try:
        return await run.drive()
    finally:
        store.close()  # the run folder's lock: the next writer may come in


class _Run:
    """One run's state machine; ``step`` does the next missing piece of work."""

    def __init__(
        self,
        config: RunConfig,
        providers: Providers,
        ledger: UsageLedger,
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
        self.profile = PROFILES.get(config.profile) if config.profile else None
        # What every role works from: the user's prompt with the profile's requirements.
        self.brief = with_brief(config.prompt, self.profile)
        if config.lock_product:
            self.brief = f"{self.brief.rstrip(' .,;:')}; {lock.LOCK_BRIEF}"
        fill = self.profile.fill_target if self.profile else None
        self.lock = lock.Lock(config.lock_product, fill)
        self.result.brief = self.brief if self.brief != config.prompt else None
        self.result.stop_reason = self.result.error = None
        self.ledger = ledger
        self.ledger.records[:0] = self.result.usage  # a resumed run keeps its earlier calls
        self.next_index = max((it.index for it in self.result.iterations), default=0) + 1
        self.slots = asyncio.Semaphore(config.max_concurrency)
        self.writer = JournalWriter(store)
        self.refinement_written: asyncio.Future[None] | None = None  # see refine()
        self.meter = FidelityMeter(providers.cutter, references)
        self.checklist_task: asyncio.Task[None] | None = None
        self.prepare_task: asyncio.Task[None] | None = None

    def emit(self, make: Callable[[Snapshot], Event]) -> None:
        """Tell the watcher, with a frozen snapshot (taken only when someone watches)."""
        if self.on_event is not None:
            self.result.usage = list(self.ledger.records)
            self.on_event(make(Snapshot.of(self.result)))

    def stage(self, stage: Stage, iteration: Iteration | Slot) -> None:
        self.emit(
            lambda snap: StageStarted(
                stage, iteration.round, iteration.candidate, iteration.index, snap
            )
        )

    async def journal(self, status: RunStatus = "running", wait: bool = False) -> None:
        """Snapshot now, write in the background (``wait`` for the run's last word)."""
        self.result.usage = list(self.ledger.records)
        self.writer.submit(self.store.snapshot(self.result, status))
        if wait:
            await self.writer.flush()

    async def last_word(self, status: RunStatus) -> None:
        """Journal how the run ended, if the folder still takes it: the caller holds the
        result in memory and prints it either way (a deleted run folder loses no JSON)."""
        with contextlib.suppress(AigError):
            await self.journal(status, wait=True)

    async def drive(self) -> RunResult:
        result = self.result
        config = self.config
        self.emit(
            lambda snap: RunStarted(result.run_dir, config.max_iterations, config.candidates, snap)
        )
        reason: StopReason | None = None
        try:
            self.start_checklist()
            self.start_preparing()
            await self.lock.prepare(self.providers.cutter, self.references, config.image)
            while (reason := await self.step()) is None:
                pass
            await self.settle(result.iterations)
            result.stop_reason = reason
            if self.profile is not None:
                fmt = self.config.image.output_format.value
                result.delivery = await deliver_best(result, self.store, self.profile, fmt)
        except* AigError as group:
            error = tasks.first_leaf(group)
            assert isinstance(error, AigError)
            result.stop_reason, result.error = "error", str(error)
            await self.last_word("failed")
            raise RunFailed(error, result) from error
        except* Exception as group:  # a bug: still journal it and keep what was finished
            cause = tasks.first_leaf(group)
            error = AigError(f"internal error: {type(cause).__name__}: {cause}")
            result.stop_reason, result.error = "error", str(error)
            await self.last_word("failed")
            raise RunFailed(error, result) from cause
        except* (asyncio.CancelledError, KeyboardInterrupt) as group:
            result.stop_reason = "interrupted"
            await self.last_word("interrupted")
            raise RunInterrupted(result) from tasks.first_leaf(group)
        finally:
            await tasks.stop(self.checklist_task)
            await tasks.stop(self.prepare_task)
        await self.journal("completed", wait=True)
        self.emit(lambda snap: RunFinished(result.stop_reason or "", snap))
        return result

    async def step(self) -> StopReason | None:
        rounds = self.result.rounds()
        current = max(rounds, default=0)
        members = rounds.get(current, [])
        unfinished = len(members) < self.config.candidates or any(
            it.evaluation is None for it in members
        )
        if current and unfinished:
            await self.play_round(current, members)
            return None
        if current:
            if self.config.candidates > 1:
                await self.settle(members)
            best = self.result.best(members)
            assert best is not None
            if best.score >= self.config.threshold:
                return "threshold"
            if current >= self.config.max_iterations:
                return "max_iterations"
            if not budget.another_round_fits(self.config.max_cost, self.ledger):
                return "budget"
            if plateau.stalled(self.result, self.config.patience):
                return "plateau"
            if self.result.pending_prompt is None:
                await self.refine(best)
            if plateau.repeats_a_round(self.result, self.result.pending_prompt):
                return "plateau"
        await self.play_round(current + 1, [])
        return None

    async def play_round(self, number: int, members: list[Iteration]) -> None:
        """Finish round ``number``: evaluate what is unscored, make the missing candidates.

        Candidates run concurrently (at most ``max_concurrency`` provider calls at once); each
        is evaluated as soon as it lands, and all continue from the previous round's best.
        """
        self.ledger.round = number
        prompt = members[0].prompt if members else self.result.pending_prompt or self.brief
        previous = self.result.best(self.result.rounds().get(number - 1, []))
        context = previous.context if previous else None
        source = previous.image_path if previous else None
        async with asyncio.TaskGroup() as group:
            for iteration in members:
                if iteration.evaluation is None:
                    group.create_task(self.evaluate(iteration))
            for candidate in range(len(members) + 1, self.config.candidates + 1):
                group.create_task(self.candidate(number, candidate, prompt, context, source))
        if isinstance(self.providers.generator, Continuing):
            self.result.continuation = self.providers.generator.continuation

    async def candidate(
        self, number: int, candidate: int, prompt: str, context: str | None, source: str | None
    ) -> None:
        iteration, image = await self.generate(number, candidate, prompt, context, source)
        # On disk (and in the journal) before anything else: if the evaluation fails, the
        # image stays in the run and a resume scores it.
        await self.keep(iteration, image)
        await asyncio.gather(self.measure(iteration, image), self.evaluate(iteration, image))

    async def measure(self, iteration: Iteration, image: GeneratedImage) -> None:
        """How faithful the product is to the reference's, beside the evaluation."""
        placed = self.lock.placed(self.providers.generator)
        iteration.fidelity = await self.meter.measure(image.data, placed)
        cut = await self.meter.reference_cut()
        self.result.segmenter = cut.segmenter if cut is not None else self.result.segmenter

    def start_checklist(self) -> None:
        """Derive the checklist once per run, concurrently with the first generation."""
        evaluator = self.providers.evaluator
        if self.result.checklist is not None or not isinstance(evaluator, ChecklistDeriver):
            return

        async def derive() -> None:
            async with self.slots:
                self.result.checklist = await evaluator.derive_checklist(
                    self.brief, self.references
                )
            await self.journal()

        self.checklist_task = asyncio.create_task(derive())

    def start_preparing(self) -> None:
        """Let the prompter set up (e.g. its conversation) while round 1 runs, if a slot is
        free for it then: it must never delay the first generation."""
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

    async def settle(self, pool: list[Iteration]) -> None:
        """If the two best of ``pool`` are within the margin, one comparison picks the winner."""
        evaluator = self.providers.evaluator
        if not isinstance(evaluator, Comparer):
            return
        ranked = sorted(
            (it for it in pool if it.evaluation is not None),
            key=lambda it: (it.score, it.index),
            reverse=True,
        )
        if len(ranked) < 2 or ranked[0].score - ranked[1].score > self.config.tie_margin:
            return
        pair = [ranked[0].index, ranked[1].index]
        if any(set(pair) == set(done.iterations) for done in self.result.tie_breaks):
            return
        first, second = await asyncio.gather(
            self.request_for(ranked[0]), self.request_for(ranked[1])
        )
        async with self.slots:
            comparison = await evaluator.compare_images(first, second)
        self.result.tie_breaks.append(
            TieBreak(iterations=pair, winner=pair[comparison.winner], reason=comparison.reason)
        )
        await self.journal()

    async def request_for(
        self, iteration: Iteration, image: GeneratedImage | None = None
    ) -> EvaluationRequest:
        """What an evaluator sees of ``iteration`` (the image read back when not in memory)."""
        if image is None:
            image = await asyncio.to_thread(read_back, iteration)
        return EvaluationRequest(
            image,
            iteration.prompt,
            self.brief,
            self.config.image,
            self.references,
            await self.checklist(),
        )

    async def refine(self, best: Iteration) -> None:
        self.stage("refining", best)
        prompter = self.providers.prompter
        if self.prepare_task is not None:
            await self.prepare_task
        async with self.slots:
            self.result.pending_prompt = await prompter.generate_prompt(
                self.brief, self.result.lineage()
            )
        self.result.thread_id = prompter.conversation_id
        # Written while the next round generates, on disk before its image is kept (``keep``
        # waits): a run killed after that resumes with this prompt, not a second refinement.
        await self.journal()
        self.refinement_written = asyncio.ensure_future(self.writer.flush())

    async def generate(
        self, number: int, candidate: int, prompt: str, context: str | None, source: str | None
    ) -> tuple[Iteration, GeneratedImage]:
        # Reserved before any await, so concurrent candidates never share an index.
        index = self.next_index
        self.next_index += 1
        self.stage("generating", Slot(index, number, candidate))
        started = time.monotonic()
        async with self.slots:
            image = await self.providers.generator.generate_image(
                GenerationRequest(
                    prompt=prompt,
                    settings=self.config.image,
                    references=self.references,
                    context=context,
                    variant=candidate - 1,
                    previous_image=source,
                    locked=self.lock.scene,
                )
            )
        image = await self.lock.apply(self.providers.generator, image)
        iteration = Iteration(
            index=index,
            round=number,
            candidate=candidate,
            prompt=prompt,
            image_path=str(self.store.image_path(index, image.output_format)),
            width=image.width,
            height=image.height,
            output_format=image.output_format,
            context=image.context,
            revised_prompt=image.revised_prompt,
            generation_seconds=round(time.monotonic() - started, 3),
        )
        return iteration, image

    async def keep(self, iteration: Iteration, image: GeneratedImage) -> None:
        """Save the image, then add its iteration to the result (and the journal)."""
        if self.refinement_written is not None:
            await self.refinement_written
        await asyncio.to_thread(self.store.save_image, iteration.index, image)
        bisect.insort(self.result.iterations, iteration, key=lambda it: it.index)
        self.result.pending_prompt = None
        await self.journal()

    async def evaluate(self, iteration: Iteration, image: GeneratedImage | None = None) -> None:
        self.stage("evaluating", iteration)
        request = await self.request_for(iteration, image)
        started = time.monotonic()
        async with self.slots:
            iteration.evaluation = await self.providers.evaluator.evaluate_image(request)
        iteration.evaluation_seconds = round(time.monotonic() - started, 3)
        await self.journal()
        score = iteration.score
        self.emit(
            lambda snap: ImageScored(
                iteration.round, iteration.candidate, iteration.index, score, snap
            )
        )
