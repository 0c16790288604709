"""The agentic loop: generate, save, evaluate, (ask a person,) stop or refine; it knows only
the Protocols. Every step is journaled, so the loop can pick up a run folder where it stopped:
an image without a score is evaluated and measured, a journaled refinement or decision is
used, an unanswered review is asked again. Cancelling the run's task journals ``interrupted``
and re-raises CancelledError (so ``asyncio.timeout`` works)."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import AigError, InputError, RunFailed
from agentic_image_gen.core.events import (
    Event,
    EventSink,
    ImageSaved,
    ImageScored,
    RunFinished,
    RunStarted,
    Snapshot,
    Stage,
    StageStarted,
)
from agentic_image_gen.core.limits import Limiter
from agentic_image_gen.core.profiles import PROFILES, with_brief
from agentic_image_gen.core.result import RunResult, StopReason
from agentic_image_gen.core.review import Reviewer
from agentic_image_gen.core.types import (
    EvaluationRequest,
    GeneratedImage,
    GenerationRequest,
    Iteration,
    ReferenceImage,
    TieBreak,
)
from agentic_image_gen.core.usage import UsageLedger
from agentic_image_gen.engine import budget, lock, opening, plateau, review, tasks, variety
from agentic_image_gen.engine.deliver import deliver_best
from agentic_image_gen.engine.fidelity import FidelityMeter
from agentic_image_gen.engine.side_work import SideWork
from agentic_image_gen.engine.tasks import Slot
from agentic_image_gen.providers.base import Comparer, Continuing, Providers
from agentic_image_gen.store.run_store import JournalWriter, RunStatus, RunStore, read_back


async def run_loop(
    config: RunConfig,
    providers: Providers,
    ledger: UsageLedger,
    on_event: EventSink | None = None,
    *,
    store: RunStore | None = None,
    reviewer: Reviewer | None = None,
    limiter: Limiter | None = None,
    loading: Awaitable[tuple[ReferenceImage, ...]] | None = None,
) -> RunResult:
    """Run until the score reaches the threshold or the iteration cap (or a person accepts).
    With ``store`` (an existing run folder) the run resumes where its journal stops. Raises
    RunFailed carrying the partial result; a cancelled run re-raises CancelledError; every
    ending emits RunFinished. With a shared ``limiter`` each round reserves from its budget;
    ``loading``: the new run's references, already loading (opening.load_references)."""
    if config.review != "never" and reviewer is None:
        raise InputError(f"review {config.review!r} needs a reviewer (reviewer=...)")
    share = budget.Share(limiter, ledger, config, providers.generator)
    await share.open(store.journal.result if store else None)  # BudgetExhausted: not started
    try:
        store, references = await opening.open_folder(config, store, providers, loading)
        run = _Run(config, providers, ledger, store, references, on_event, reviewer, share)
        return await run.drive()
    finally:
        await share.release()  # what the run spent, in all; its reservation ends
        if store is not None:
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
        reviewer: Reviewer | None,
        share: budget.Share,
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
        self.round_size = variety.RoundSizes(
            providers.generator, config, references, self.result, self.lock
        )
        self.result.brief = self.brief if self.brief != config.prompt else None
        self.result.stop_reason = self.result.error = self.result.delivery = None
        self.ledger = ledger
        self.share = share
        self.next_index = max((it.index for it in self.result.iterations), default=0) + 1
        self.slots = asyncio.Semaphore(config.max_concurrency)
        self.writer = JournalWriter(store)
        self.refinement_written: asyncio.Future[None] | None = None  # see refine()
        self.meter = FidelityMeter(providers.cutter, references)
        self.side = SideWork(config, self.result, providers, self.slots, self.journal)
        self.side.brief, self.side.references = self.brief, references
        self.reviews = review.Reviews(config, self.result, reviewer, self.emit, self.journal)

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

    async def journal(
        self, status: RunStatus = "running", wait: bool = False, saved: Path | None = None
    ) -> None:
        """Snapshot now, write in the background (``wait`` for the run's last word); the
        ``saved`` image's fsync goes first."""
        self.result.usage = list(self.ledger.records)
        self.writer.submit(self.store.snapshot(self.result, status), [saved] if saved else [])
        if wait:
            await self.writer.flush()

    async def last_word(self, status: RunStatus) -> None:
        """Journal how the run ended, if the folder still takes it: the caller holds the
        result in memory and prints it either way (a deleted run folder loses no JSON)."""
        with contextlib.suppress(AigError):
            await self.journal(status, wait=True)

    async def drive(self) -> RunResult:
        result, config = self.result, self.config
        done = max(result.rounds(), default=0)
        rounds, candidates = config.max_iterations, config.candidates
        self.emit(lambda snap: RunStarted(result.run_dir, rounds, candidates, snap, round=done))
        try:
            result.stop_reason = await self.work()
            if self.profile is not None:
                fmt = self.config.image.output_format.value
                where = (self.providers.cutter, self.lock.placed(self.providers.generator))
                result.delivery = await deliver_best(result, self.store, self.profile, fmt, *where)
        except (asyncio.CancelledError, KeyboardInterrupt):
            await self.ended("interrupted", "interrupted")
            raise
        except BaseException as caught:  # TaskGroup wraps candidates' errors in groups
            cause = tasks.cause_of(caught)
            if not isinstance(cause, Exception):
                raise
            error = cause if isinstance(cause, AigError) else AigError(
                f"internal error: {type(cause).__name__}: {cause}"  # a bug: kept, journaled
            )
            result.error = str(error)
            await self.ended("error", "failed")
            raise RunFailed(error, result) from cause
        finally:
            await self.side.stop()
        await self.ended(result.stop_reason or "", result.status())
        return result

    async def work(self) -> StopReason:
        """The rounds, until a reason to stop (a region edit, engine/edit.py, is one turn)."""
        self.side.start()
        await self.lock.prepare(self.providers.cutter, self.references, self.config.image)
        while (reason := await self.step()) is None:
            pass
        await self.settle(self.result.iterations)
        await self.reviews.final(reason)
        return reason

    async def ended(self, reason: StopReason | str, status: RunStatus) -> None:
        """Journal how the run ended and say so (RunFinished, with the result)."""
        result = self.result
        if reason in ("error", "interrupted"):
            result.stop_reason = reason
            await self.last_word(status)
        else:
            await self.journal(status, wait=True)
        best = result.best()
        where = (best.round, best.candidate, best.index) if best else (0, 0, 0)
        self.emit(lambda snap: RunFinished(result.stop_reason or "", snap, result, *where))

    async def step(self) -> StopReason | None:
        rounds = self.result.rounds()
        current = max(rounds, default=0)
        members = rounds.get(current, [])
        wanted = self.round_size(current, members[0].prompt) if members else 0
        unfinished = len(members) < wanted or any(it.evaluation is None for it in members)
        if current and unfinished:
            await self.play_round(current, members)
            return None
        if current:
            if self.config.candidates > 1:
                await self.settle(members)
            record = await self.reviews.of_round(current, members, self.another_round(current))
            if record is not None and record.accept:
                return "accepted"
            best = self.result.best(members)
            assert best is not None
            if best.score >= self.config.threshold and not (record and record.retry):
                return "threshold"
            if not self.another_round(current):
                return "max_iterations" if current >= self.config.max_iterations else "budget"
            if plateau.stalled(self.result, self.config.patience):
                return "plateau"
            if not await self.share.reserve(current + 1):
                return "budget"  # a budget shared with other runs cannot pay for it now
            if self.result.pending_prompt is None:
                if record is not None and record.prompt is not None:
                    self.result.pending_prompt = record.prompt  # the person's own words
                    await self.journal(wait=True)
                else:
                    await self.refine(best)
            if plateau.repeats_a_round(self.result, self.result.pending_prompt):
                return "plateau"
        await self.play_round(current + 1, [])
        return None

    def another_round(self, current: int) -> bool:
        return current < self.config.max_iterations and budget.another_round_fits(
            self.config.max_cost, self.ledger
        )

    async def play_round(self, number: int, members: list[Iteration]) -> None:
        """Finish round ``number``: evaluate what is unscored, make the missing candidates,
        concurrently (at most ``max_concurrency`` calls at once), each evaluated as soon as
        it lands, all continuing from the previous round's best."""
        self.ledger.round = number
        prompt = members[0].prompt if members else self.result.pending_prompt or self.brief
        previous = self.result.base_for(number)  # a round sent back is not continued from
        context = previous.context if previous else None
        source = previous.image_path if previous else None
        async with asyncio.TaskGroup() as group:
            for iteration in members:
                if iteration.evaluation is None:  # saved before a kill: score and measure it
                    group.create_task(self.finish(iteration))
            for candidate in range(len(members) + 1, self.round_size(number, prompt) + 1):
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
        await self.finish(iteration, image)

    async def finish(self, iteration: Iteration, image: GeneratedImage | None = None) -> None:
        """Evaluate and measure an image (read back from the folder on a resume)."""
        if image is None:
            image = await asyncio.to_thread(read_back, iteration)
        measuring = self.measure(iteration, image) if iteration.fidelity is None else None
        await asyncio.gather(self.evaluate(iteration, image), *([measuring] if measuring else []))

    async def measure(self, iteration: Iteration, image: GeneratedImage) -> None:
        """How faithful the product is to the reference's, beside the evaluation."""
        placed = self.lock.placed(self.providers.generator)
        iteration.fidelity = await self.meter.measure(image.data, placed)
        cut = await self.meter.reference_cut()
        self.result.segmenter = cut.segmenter if cut is not None else self.result.segmenter

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
            await self.side.checklist(),
            locked=self.config.lock_product,
        )

    async def refine(self, best: Iteration) -> None:
        self.stage("refining", best)
        prompter = self.providers.prompter
        await self.side.prepared()
        async with self.slots:
            self.result.pending_prompt = await prompter.generate_prompt(
                self.brief, review.with_notes(self.result)
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
        iteration = Iteration.made(
            image, index=index, round=number, candidate=candidate, prompt=prompt,
            image_path=str(self.store.image_path(index, image.output_format)),
            seconds=round(time.monotonic() - started, 3),
        )
        return iteration, image

    async def keep(self, iteration: Iteration, image: GeneratedImage) -> None:
        """Save the image, then add its iteration to the result (and the journal)."""
        if self.refinement_written is not None:
            await self.refinement_written
        # Whole and in place before it is scored (a killed run keeps it); its fsync runs
        # beside the evaluation, before the journal that lists it.
        saved = await asyncio.to_thread(self.store.save_image, iteration.index, image, False)
        bisect.insort(self.result.iterations, iteration, key=lambda it: it.index)
        self.result.pending_prompt = None
        await self.journal(saved=saved)
        self.emit(
            lambda snap: ImageSaved(
                iteration.round, iteration.candidate, iteration.index, iteration.image_path, snap
            )
        )

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
