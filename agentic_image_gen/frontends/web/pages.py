"""The pages (Jinja2 templates, htmx partials) and the files of runs.

Pages render what the run manager knows; the live parts of a run page come from its events
(static/run.js), and the parts a person acts on (the summary, the review) are partials that
htmx fetches again when an event says they changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

import agentic_image_gen.engine.runs as runs
from agentic_image_gen.core.config import MAX_CANDIDATES, MAX_ITERATIONS_LIMIT, RunConfig
from agentic_image_gen.core.events import stop_label
from agentic_image_gen.core.profiles import PROFILES
from agentic_image_gen.core.types import STANDARD_SIZES, Background, OutputFormat, Quality
from agentic_image_gen.engine.installed import describe_providers
from agentic_image_gen.frontends.web.api import (
    MAX_RUN_PHOTOS_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_UPLOADS,
    Manager,
    Run,
)
from agentic_image_gen.frontends.web.intake import Refused
from agentic_image_gen.frontends.web.manager import RunManager, WebRun

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["stop_label"] = stop_label
router = APIRouter(include_in_schema=False)
# What a page may fetch from a run folder: its images, references, delivery, report.
SERVED = ("images", "references", "delivery")
SIZES = ("1024x1024", "1024x1536", "1536x1024", "2048x2048", "512x512", STANDARD_SIZES[0])


def page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context)


@router.get("/")
async def runs_page(request: Request, manager: Manager) -> HTMLResponse:
    return page(request, "runs.html", rows=manager.listing())


@router.get("/partials/runs")
async def runs_partial(request: Request, manager: Manager) -> HTMLResponse:
    return page(request, "_runs_table.html", rows=manager.listing())


@router.get("/new")
async def new_page(request: Request, manager: Manager) -> HTMLResponse:
    session = manager.session
    infos = describe_providers(session.env, session.registry)
    defaults = RunConfig(prompt="-")
    return page(
        request,
        "new.html",
        providers=infos,
        profiles=list(PROFILES.values()),
        defaults=defaults,
        sizes=SIZES,
        backgrounds=[b.value for b in Background],
        formats=[f.value for f in OutputFormat],
        qualities=[q.value for q in Quality],
        max_candidates=MAX_CANDIDATES,
        max_iterations=MAX_ITERATIONS_LIMIT,
        max_uploads=MAX_UPLOADS,
        max_upload_mb=MAX_UPLOAD_BYTES // 2**20,
        max_total_mb=MAX_RUN_PHOTOS_BYTES // 2**20,
        allow_private=manager.allow_private,
    )


def run_context(manager: RunManager, run: WebRun) -> dict[str, Any]:
    """Everything a run page and its partials show, from the folder or the queued job."""
    folder = manager.folder(run)
    if folder is not None:
        settings = folder.config.model_dump(mode="json", exclude={"refs"})
        prompt, created = folder.summary.prompt, folder.summary.created_at
    else:
        settings = dict(run.entry.job.config or {}) if run.entry.job else {}
        prompt, created = run.entry.prompt, run.entry.created_at
    references: list[str] = []
    if run.run_dir is not None and folder is not None:
        journal = runs.load_journal(run.run_dir)
        references = [url for ref in journal.references if (url := run.log.files(ref.path))]
    status = manager.status(run)
    pending = manager.pending(run)
    return {
        "review": manager.log(run).request(pending) if pending is not None else None,
        "run": run,
        "run_id": run.run_id,
        "status": status,
        "active": status in ("queued", "running", "waiting"),
        "prompt": prompt,
        "created_at": created,
        "settings": settings,
        "summary": folder.summary if folder else None,
        "best_image": run.log.files(folder.best_image) if folder and folder.best_image else None,
        "delivery": folder.delivery if folder else None,
        "delivery_url": run.log.files(folder.delivery.path) if folder and folder.delivery else None,
        "references": references,
        "position": manager.position(run),
        "error": run.entry.error,
        "has_report": bool(run.run_dir and (run.run_dir / runs.REPORT_NAME).is_file()),
    }


def _run_page_run(run_id: str, manager: Manager) -> WebRun:
    run = manager.get(run_id)
    if run is None:
        raise Refused(f"no run {run_id!r}", 404)
    return run


PageRun = Annotated[WebRun, Depends(_run_page_run)]


@router.get("/r/{run_id}")
async def run_page(request: Request, run: PageRun, manager: Manager) -> HTMLResponse:
    context = run_context(manager, run)
    edit_reason = None
    if run.run_dir is not None and context["summary"] is not None:
        edit_reason = manager.session.edit_support(run.run_dir)
    return page(request, "run.html", edit_reason=edit_reason, **context)


@router.get("/r/{run_id}/summary")
async def summary_partial(request: Request, run: PageRun, manager: Manager) -> HTMLResponse:
    return page(request, "_summary.html", **run_context(manager, run))


@router.get("/r/{run_id}/review")
async def review_partial(request: Request, run: PageRun, manager: Manager) -> HTMLResponse:
    context = run_context(manager, run)
    return page(request, "_review.html", run_id=run.run_id, review=context["review"])


@router.get("/r/{run_id}/report")
async def report(run: PageRun, manager: Manager) -> Response:
    """The run's report, (re)written now so it shows the run as it is."""
    if run.run_dir is None:
        raise Refused("this run has no report yet", 404)
    await manager.session.report(run.run_dir)
    return RedirectResponse(f"/runs/{run.run_id}/{runs.REPORT_NAME}", 303)


@router.get("/runs/{run_id}/{path:path}")
async def run_file(run: Run, path: str) -> FileResponse:
    """A file inside the run folder: no ``..``, no absolute path, no symlink out (404)."""
    parts = path.split("/")
    inside = (parts[0] in SERVED and len(parts) > 1) or path == runs.REPORT_NAME
    if run.run_dir is None or not inside or any(p in ("", ".", "..") for p in parts):
        raise Refused("not found", 404)
    root = run.run_dir.resolve()
    target = (root / path).resolve()
    if "\\" in path or not target.is_relative_to(root) or not target.is_file():
        raise Refused("not found", 404)
    return FileResponse(target, headers={"cache-control": "no-cache"})


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    """The API's documentation (Swagger UI, served from the app: it works offline)."""
    return page(request, "docs.html")
