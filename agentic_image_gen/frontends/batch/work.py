"""One product's work, wherever it runs: a new run or a resumed one through a Session, its
report, and its delivery uploaded. Jobs, progress notes and outcomes are plain data, so a
runner can ship them to another process (or another machine) and back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentic_image_gen.core.config import RunConfig, problems
from agentic_image_gen.core.errors import AigError, BudgetExhausted, RunFailed
from agentic_image_gen.core.events import Event, ImageScored, RunStarted
from agentic_image_gen.core.limits import Limiter
from agentic_image_gen.core.output import RunOutput
from agentic_image_gen.engine.runs import upload_file
from agentic_image_gen.engine.session import Session
from agentic_image_gen.frontends.batch.state import Status

# A presigned URL in a catalog should outlive the batch by more than an hour: the longest
# a SigV4 URL may live (give --public for URLs that do not expire, e.g. for a shop import).
UPLOAD_EXPIRY_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Job:
    product_id: str
    folder: str  # the product's folder name (also its upload folder)
    config: RunConfig  # a new run's settings (its run folder goes under config.out_dir)
    resume: str | None = None  # a run folder to go on with instead
    key: str = ""  # what the product's spending is counted under in the shared budget
    upload: str | None = None  # s3://bucket/prefix/ for the delivery
    public: bool = False


@dataclass(frozen=True)
class Progress:
    """What a product's run has done so far (for the state file and the progress bar)."""

    product_id: str
    run_dir: str
    cost_usd: float
    images: int
    best_score: int | None


@dataclass(frozen=True)
class Outcome:
    product_id: str
    status: Status  # done, failed, or pending (held back by the budget)
    output: dict[str, Any] | None = None  # the run's output JSON (RunOutput)
    error: str | None = None
    url: str | None = None  # the uploaded delivery
    held_back: bool = False  # the shared budget could not pay for its first round now


Notify = Callable[[Progress], None]


async def run_product(session: Session, job: Job, limiter: Limiter, notify: Notify) -> Outcome:
    """Run (or go on with) one product's loop; never raises for the product's own failures
    (a cancelled product re-raises CancelledError: its run is journaled interrupted)."""

    def sink(event: Event) -> None:
        if isinstance(event, RunStarted | ImageScored):
            snapshot = event.snapshot
            notify(
                Progress(
                    job.product_id,
                    snapshot.run_dir,
                    snapshot.cost_usd,
                    len(snapshot.iterations),
                    snapshot.best_score,
                )
            )

    try:
        if job.resume is not None:
            earlier = session.output(job.resume)
            if earlier.status == "completed":  # finished before the last batch noted it
                await session.report(job.resume)
                return await _done(job, session.output(job.resume))
            result = await session.resume(job.resume, sink, limiter=limiter)
        else:
            result = await session.run(job.config, sink, limiter=limiter)
    except RunFailed as failure:
        output, _ = await session.publish(failure.partial)
        return Outcome(job.product_id, "failed", output.to_json(), str(failure))
    except BudgetExhausted as refused:  # before the run began: nothing was spent or written
        return Outcome(job.product_id, "pending", error=str(refused), held_back=True)
    except AigError as error:  # before the run began (a reference that cannot be fetched)
        return Outcome(job.product_id, "failed", error=str(error))
    except ValidationError as invalid:
        found = "; ".join(f"{field}: {message}" for field, message in problems(invalid))
        return Outcome(job.product_id, "failed", error=found)
    output, _ = await session.publish(result)
    return await _done(job, output)


async def _done(job: Job, output: RunOutput) -> Outcome:
    """A finished product: its delivery (or best image) uploaded when asked."""
    data = output.to_json()
    if job.upload is None:
        return Outcome(job.product_id, "done", data)
    path = output.delivery.path if output.delivery is not None else output.best_image_url
    if path is None:
        return Outcome(job.product_id, "failed", data, "upload: the run has no image")
    destination = f"{job.upload.rstrip('/')}/{job.folder}/"
    try:
        url = await upload_file(
            Path(path), destination, public=job.public, expires_in=UPLOAD_EXPIRY_SECONDS
        )
    except AigError as error:
        return Outcome(job.product_id, "failed", data, f"upload: {error}")
    return Outcome(job.product_id, "done", data, url=url)
