"""The batch process's side of a catalog: which products to run (new, resumed from their
journal, retried), at most ``--concurrency`` at once through a runner, and every step of
theirs noted in the state.

A product whose first round the catalog's budget cannot pay for now waits while other products
run (what they reserved may come back); when nothing else runs and it still cannot be paid
for, it and every product not started stay ``pending``, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from pathlib import Path

from agentic_image_gen.engine.runs import JOURNAL_NAME, list_runs, output_of
from agentic_image_gen.frontends.batch.formats import Catalog, Product
from agentic_image_gen.frontends.batch.options import BatchOptions
from agentic_image_gen.frontends.batch.progress import ProgressBar
from agentic_image_gen.frontends.batch.runner import Runner
from agentic_image_gen.frontends.batch.state import Record, State
from agentic_image_gen.frontends.batch.work import Job, Outcome, Progress

INTERRUPTED = "interrupted; the next batch resumes it"


class Batch:
    def __init__(self, options: BatchOptions, catalog: Catalog, state: State) -> None:
        self.options = options
        self.catalog = catalog
        self.state = state
        self.progress: ProgressBar | None = None
        self.records = state.records()
        self.seeds: dict[str, float] = {}  # spent before this batch, by budget key
        self.jobs = [job for product in catalog.products if (job := self._job(product))]
        self.finished = 0
        self.running: dict[asyncio.Task[Outcome], Job] = {}

    def in_order(self) -> list[Record]:
        """The catalog's products' records, in the catalog's order."""
        return [self.records[product.id] for product in self.catalog.products]

    def _job(self, product: Product) -> Job | None:
        """The product's work in this batch (None: nothing to do), and what it spent before."""
        record = self.records[product.id]
        resume = self._run_folder(product, record)
        if resume is not None:
            spent = output_of(Path(resume)).usage.cost_usd
            self.seeds[resume] = spent
        elif record.cost_usd:
            self.seeds[record.run_dir or f"id:{record.id}"] = record.cost_usd
        if record.status == "done" or (record.status == "failed" and not self.options.retry_failed):
            return None
        return Job(
            product_id=product.id,
            folder=product.folder,
            config=self.options.config_for(product),
            resume=resume,
            key=resume or f"new:{product.id}",
            upload=self.options.upload,
            public=self.options.public,
        )

    def _run_folder(self, product: Product, record: Record) -> str | None:
        """The product's run folder to go on with: the one the state names, else the newest
        under its folder (a batch killed before it noted the folder it had just made)."""
        if record.run_dir and (Path(record.run_dir) / JOURNAL_NAME).is_file():
            return record.run_dir
        with contextlib.suppress(Exception):
            found, _skipped = list_runs(self.options.out / product.folder)
            if found:
                return found[0].run_dir
        return None

    async def run(self, runner: Runner) -> None:
        await runner.start()
        try:
            for key, spent in self.seeds.items():
                await runner.seed(key, spent)
            await self._schedule(runner)
        finally:
            await runner.stop()

    async def _schedule(self, runner: Runner) -> None:
        queue = deque(self.jobs)
        waiting = False  # for a product to end: the budget cannot pay for the next one now
        self._show()
        try:
            while queue or self.running:
                while queue and not waiting and len(self.running) < self.options.concurrency:
                    self._start(runner, queue.popleft())
                done, _ = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
                waiting = False
                for task in done:
                    job = self.running.pop(task)
                    outcome = task.result()
                    if outcome.held_back and self.running:
                        queue.appendleft(job)  # again once another product has ended
                        waiting = True
                    elif outcome.held_back:
                        self._hold_back([job, *queue], outcome.error or "the budget ran out")
                        queue.clear()
                    self._ended(job, outcome)
        except asyncio.CancelledError:
            await self._cancel_all()
            raise

    def _start(self, runner: Runner, job: Job) -> None:
        self._note(job.product_id, status="running", error=None)
        self.running[asyncio.create_task(runner.run(job, self._noted))] = job

    def _noted(self, progress: Progress) -> None:
        self._note(
            progress.product_id,
            run_dir=progress.run_dir,
            cost_usd=progress.cost_usd,
            score=progress.best_score,
        )
        self._show()

    def _ended(self, job: Job, outcome: Outcome) -> None:
        record = self.records[job.product_id]
        if outcome.held_back:
            if record.status == "running":  # waits for its turn again
                self._note(job.product_id, status="pending", error=outcome.error)
            return
        record.status, record.error = outcome.status, outcome.error
        record.url = outcome.url or record.url
        if (output := outcome.output) is not None:
            delivery = output.get("delivery")
            record.run_dir = output["run_dir"]
            record.score = output["final_score"]
            record.best_image = output["best_image_url"]
            record.delivery = delivery["path"] if delivery else None
            record.compliant = delivery["compliant"] if delivery else None
            record.cost_usd = output["usage"]["cost_usd"]
            record.report = output.get("report")
        self.state.save(record)
        self.finished += 1
        self._show()

    def _hold_back(self, jobs: list[Job], reason: str) -> None:
        for job in jobs:
            self._note(job.product_id, status="pending", error=f"not started: {reason}")

    async def _cancel_all(self) -> None:
        """Interrupted: every product running is cancelled (its run journals itself as
        interrupted) and waits, pending, for the next batch."""
        for task in self.running:
            task.cancel()
        for task, job in list(self.running.items()):
            with contextlib.suppress(BaseException):
                await task
            self._note(job.product_id, status="pending", error=INTERRUPTED)
        self.running.clear()

    def _note(self, product_id: str, **changes: object) -> None:
        record = self.records[product_id]
        for name, value in changes.items():
            setattr(record, name, value)
        self.state.update(product_id, **changes)

    def _show(self) -> None:
        if self.progress is None:
            return
        cost = sum(record.cost_usd for record in self.records.values())
        self.progress.show(self.in_order(), self.finished, len(self.running), cost)
