"""The JSON API under ``/api``: what the pages use, and scripts can (FastAPI documents it at
``/docs``). Every call goes through the run manager, and so through the one Session."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ValidationError

from agentic_image_gen.core.config import problems
from agentic_image_gen.core.errors import AigError
from agentic_image_gen.core.types import MAX_REFERENCE_BYTES
from agentic_image_gen.engine.installed import describe_providers
from agentic_image_gen.frontends.web.intake import (
    DecisionBody,
    Refused,
    ResumeBody,
    config_fields,
    run_config,
    upload_reason,
)
from agentic_image_gen.frontends.web.manager import RunManager, WebRun, one_line

# The HTTP layer's caps: a photo as large as the command line takes; the engine checks each
# reference again.
MAX_UPLOAD_BYTES = MAX_REFERENCE_BYTES
MAX_UPLOADS = 8
# A request is held in memory: a run's photos together weigh at most two of the largest;
# the body may carry 1 MB more (the settings, the multipart framing).
MAX_RUN_PHOTOS_BYTES = 2 * MAX_UPLOAD_BYTES
MAX_RUN_BODY = MAX_RUN_PHOTOS_BYTES + 2**20
router = APIRouter(prefix="/api", tags=["runs"])


def manager_of(request: Request) -> RunManager:
    manager: RunManager = request.app.state.manager
    return manager


Manager = Annotated[RunManager, Depends(manager_of)]


def existing_run(run_id: str, manager: Manager) -> WebRun:
    run = manager.get(run_id)
    if run is None:
        raise Refused(f"no run {run_id!r}", 404)
    return run


Run = Annotated[WebRun, Depends(existing_run)]


class Created(BaseModel):
    run_id: str
    status: str
    url: str


class Changed(BaseModel):
    run_id: str
    status: str


class RunRow(BaseModel):
    run_id: str
    status: str
    stop_reason: str | None
    best_score: int | None
    iterations: int
    prompt: str
    created_at: str
    best_image_url: str | None
    error: str | None
    position: int | None


async def read_upload(upload: UploadFile, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise Refused(
            f"{upload.filename or 'an upload'} is over the {limit // 2**20} MB limit", 413
        )
    return data


@router.post("/runs", status_code=201, response_model=Created, openapi_extra={
    "description": "Start a run (or queue it). `config`: JSON of RunConfig fields, e.g. "
    '`{"prompt": "...", "candidates": 2, "max_iterations": 3, "review": "rounds"}`; `refs`: '
    "photos of the product (the first is the product). Fields that reach outside the app "
    "(out_dir, prices_file, local paths, endpoints) are refused with 400."
}, max_body_size=MAX_RUN_BODY)
async def create_run(
    manager: Manager,
    config: Annotated[str, Form()] = "{}",
    refs: Annotated[list[UploadFile] | None, File()] = None,
) -> Created:
    fields = config_fields(config)
    uploads = refs or []
    if len(uploads) > MAX_UPLOADS:
        raise Refused(f"at most {MAX_UPLOADS} reference images")
    data = [await read_upload(upload) for upload in uploads]
    names = [upload.filename or f"upload {n}" for n, upload in enumerate(uploads, start=1)]
    try:
        run_settings = run_config(fields, data, manager.out, manager.allow_private)
        await manager.session.check(run_settings)
    except ValidationError as error:
        found = [{"field": field, "message": message} for field, message in problems(error)]
        return JSONResponse({"detail": one_line(error), "problems": found}, 400)  # type: ignore[return-value]
    except AigError as error:
        raise Refused(upload_reason(one_line(error), names)) from error
    run = await manager.submit(run_settings, data, names)
    return Created(run_id=run.run_id, status=manager.status(run), url=f"/r/{run.run_id}")


@router.get("/runs", response_model=list[RunRow])
async def list_runs(manager: Manager) -> list[dict[str, Any]]:
    """Every run under --out and every queued one, newest first."""
    return manager.listing()


@router.get("/runs/{run_id}")
async def get_run(run: Run, manager: Manager) -> dict[str, Any]:
    """The run's output model (as the CLI prints it), read from its journal while it runs,
    with the app's ``run_id`` and ``status``; ``review`` when it waits for a person. A run
    without a folder yet (queued) has only ``run_id``, ``status``, ``prompt``, ``position``."""
    base = {"run_id": run.run_id, "status": manager.status(run)}
    if run.run_dir is None:
        return {**base, "prompt": run.entry.prompt, "position": manager.position(run),
                "error": run.entry.error}
    output = manager.session.output(run.run_dir).to_json()
    request = manager.pending(run)
    review = manager.log(run).request(request) if request is not None else None
    return {**output, **base, "review": review, "error": output.get("error") or run.entry.error}


@router.get("/runs/{run_id}/events", response_class=EventSourceResponse)
async def run_events(
    run: Run,
    manager: Manager,
    last_event_id: Annotated[str | None, Header()] = None,
    seen: Annotated[str | None, Query(alias="last_event_id")] = None,
) -> AsyncIterable[ServerSentEvent]:
    """Server-sent events: every engine event of the run, named in snake_case, with JSON
    data; without ``Last-Event-ID`` from the run's start, with it only what was missed (the
    ``last_event_id`` query parameter does the same for clients that cannot set headers)."""
    log = manager.log(run)
    async for entry in log.follow(log.after(last_event_id or seen)):
        yield ServerSentEvent(raw_data=entry.json, event=entry.name, id=log.event_id(entry))


@router.post("/runs/{run_id}/decision", response_model=Changed)
async def decide(run: Run, manager: Manager, body: DecisionBody) -> Changed:
    """Answer the review the run waits for: ``pick`` (an iteration number; null: none, try
    the round again), ``notes``, ``prompt`` (the next prompt as written), ``accept``."""
    manager.decide(run, body)
    return Changed(run_id=run.run_id, status=manager.status(run))


@router.post("/runs/{run_id}/cancel", response_model=Changed)
async def cancel(run: Run, manager: Manager) -> Changed:
    """Stop a running run (journaled as interrupted, resumable) or drop a queued one."""
    return Changed(run_id=run.run_id, status=manager.cancel(run))


@router.post("/runs/{run_id}/resume", response_model=Changed, status_code=202)
async def resume(run: Run, manager: Manager, body: ResumeBody | None = None) -> Changed:
    """Go on with a stopped run, with new limits if given; queued like a new run."""
    overrides = body.model_dump(exclude_none=True) if body is not None else {}
    try:
        manager.resume(run, overrides)
    except ValidationError as error:
        raise Refused(one_line(error)) from error
    except AigError as error:
        raise Refused(one_line(error)) from error
    return Changed(run_id=run.run_id, status=manager.status(run))


@router.post("/runs/{run_id}/edit", response_model=Changed, status_code=202)
async def edit(
    run: Run,
    manager: Manager,
    iteration: Annotated[int, Form()],
    prompt: Annotated[str, Form()],
    mask: Annotated[UploadFile, File()],
) -> Changed:
    """A region edit of a stopped run: image ``iteration`` repainted where the PNG ``mask``
    is transparent, as ``prompt`` says; the edit becomes the run's next iteration. 409 with
    the reason when the run's generator cannot edit a region."""
    await manager.edit(run, iteration, await read_upload(mask), prompt)
    return Changed(run_id=run.run_id, status=manager.status(run))


@router.get("/providers", tags=["providers"])
async def providers(manager: Manager) -> list[dict[str, Any]]:
    """Installed providers: roles, options and whether each is usable here (and why not)."""
    return [
        {"name": info.name, "summary": info.summary, "roles": info.roles, "usable": info.usable,
         "problem": info.problem, "options": info.options}
        for info in describe_providers(manager.session.env, manager.session.registry)
    ]
