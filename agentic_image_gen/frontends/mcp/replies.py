"""What the tools answer: the run's output model as structured content, one small preview,
and links to the full files (served as resources), never a full-size image inline."""

from __future__ import annotations

import asyncio
import base64
import json
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import FileResource
from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel, Field

from agentic_image_gen.core.events import stop_label
from agentic_image_gen.core.output import RunOutput, RunStatus, RunSummary
from agentic_image_gen.core.review import ReviewKind, ReviewRequest
from agentic_image_gen.frontends.mcp.thumbnails import CANDIDATE_SIDE, PREVIEW_SIDE, thumbnail

SCHEME = "aig"
# A review shows this many candidates as previews (the best-scored); the rest as links.
MAX_CANDIDATE_PREVIEWS = 4
_FINISHED = ("completed", "failed", "interrupted")


class CandidateView(BaseModel):
    iteration: int
    round: int
    candidate: int
    score: int | None
    feedback: str | None
    image_path: str
    uri: str | None = Field(description="the full image, as a resource")


class ReviewView(BaseModel):
    """A review the run waits for: answer with review_run."""

    kind: ReviewKind
    round: int
    suggested: int | None = Field(description="the evaluator's pick (what pick=None means)")
    can_continue: bool
    candidates: list[CandidateView]


class ToolRun(RunOutput):
    """The run's output (the JSON the CLI prints), its id, and the review it waits for."""

    run_id: str
    review: ReviewView | None = None


class RunHandle(BaseModel):
    run_id: str
    status: RunStatus
    run_dir: str


class RunRow(RunSummary):
    run_id: str


class RunList(BaseModel):
    runs: list[RunRow]
    skipped: list[str] = Field(description="folders that are not readable runs, and why")


class Links:
    """Files of run folders as resources: registered when a reply links them (and served
    only from inside their run folder)."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self.server = server
        self.known: set[str] = set()

    def link(self, run_id: str, run_dir: Path, path: str, description: str) -> ResourceLink | None:
        file = Path(path).resolve()
        if not file.is_relative_to(run_dir.resolve()) or not file.is_file():
            return None  # a journal that names a file elsewhere links nothing
        relative = file.relative_to(run_dir.resolve()).as_posix()
        uri = f"{SCHEME}://runs/{quote(run_id)}/{quote(relative)}"
        mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if uri not in self.known:
            self.server.add_resource(
                FileResource(uri=uri, path=file, mime_type=mime, name=f"{run_id}/{relative}",
                             description=description)
            )
            self.known.add(uri)
        return ResourceLink(
            type="resource_link", uri=uri, name=f"{run_id}/{relative}", mime_type=mime,
            size=file.stat().st_size, description=description,
        )


async def run_reply(
    links: Links, run_id: str, output: RunOutput, request: ReviewRequest | None = None,
    note: str = "",
) -> CallToolResult:
    """A run as a tool's answer: a line to read, the structured output, the best image's
    preview and links when it is finished (the candidates' when it waits for a review)."""
    run_dir = Path(output.run_dir)
    content: list[ContentBlock] = [TextContent(type="text", text=summary(run_id, output, request,
                                                                        note))]
    review = None
    if request is not None:
        linked = [
            (c, links.link(run_id, run_dir, c.image_path, f"image #{c.iteration}, full size"))
            for c in request.candidates
        ]
        views = [CandidateView(**vars(c), uri=link.uri if link else None) for c, link in linked]
        review = ReviewView(kind=request.kind, round=request.round, suggested=request.suggested,
                            can_continue=request.can_continue, candidates=views)
        shown = sorted(request.candidates, key=lambda c: -(c.score or 0))[:MAX_CANDIDATE_PREVIEWS]
        for candidate in sorted(shown, key=lambda c: c.iteration):
            content.append(TextContent(type="text", text=f"image #{candidate.iteration}, "
                                       f"score {candidate.score}: {candidate.feedback}"))
            content += await _preview(Path(candidate.image_path), CANDIDATE_SIDE)
        content += [link for _, link in linked if link is not None]
    elif output.status in _FINISHED and output.best_image_url:
        content += await _preview(Path(output.best_image_url))
        files = [(output.best_image_url, "the best image, full size")]
        if output.delivery is not None:
            files.append((output.delivery.path, f"the file made for {output.delivery.profile}"))
        if output.report:
            files.append((output.report, "the run's HTML report"))
        content += [
            link for path, text in files if (link := links.link(run_id, run_dir, path, text))
        ]
    state = ToolRun(**output.model_dump(), run_id=run_id, review=review)
    structured: dict[str, Any] = state.model_dump(mode="json", exclude=state.absent())
    # Clients that read only content get the same JSON as text (as the MCP spec advises).
    content.append(TextContent(type="text", text=json.dumps(structured, ensure_ascii=False)))
    return CallToolResult(content=content, structured_content=structured)


def summary(run_id: str, output: RunOutput, request: ReviewRequest | None, note: str) -> str:
    """One paragraph an agent (or its user) reads first."""
    best = (
        f"best score {output.final_score} (image #{output.best_iteration})"
        if output.final_score is not None else "no image scored yet"
    )
    if request is not None:
        picks = ", ".join(f"#{c.iteration} ({c.score})" for c in request.candidates)
        text = (f"run {run_id} waits for a {request.kind} review of round {request.round}: "
                f"candidates {picks}; the evaluator suggests #{request.suggested}. Answer with "
                f"review_run(run_id={run_id!r}, pick=..., notes=..., prompt=..., accept=...).")
    elif output.status in _FINISHED:
        text = (f"run {run_id} {output.status}: {stop_label(output.stop_reason)}, {best}, "
                f"{output.iterations} image(s), ${output.usage.cost_usd:.3f}.")
        if output.error:
            text += f" Error: {output.error}"
        if output.best_image_url:
            text += " The full files are linked as resources."
    else:
        text = f"run {run_id} is {output.status}: {best} so far."
        if not note:
            text += f" Call wait_run(run_id={run_id!r}) to wait for it."
    return f"{text} {note}".strip()


async def _preview(path: Path, side: int = PREVIEW_SIDE) -> list[ImageContent]:
    """The preview, or none when the file is gone or unreadable (the rest still answers)."""
    try:
        data = await asyncio.to_thread(thumbnail, path, side)
    except OSError:
        return []
    return [ImageContent(type="image", data=base64.b64encode(data).decode(),
                         mime_type="image/jpeg")]
