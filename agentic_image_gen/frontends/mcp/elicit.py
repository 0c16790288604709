"""A review asked of the user directly, where the client supports elicitation: a choice among
the candidates (and, at a round, notes and accept). Declined, cancelled or unsupported, the
run waits for the review_run tool instead."""

from __future__ import annotations

import logging
from typing import Any, Literal

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field, create_model

from agentic_image_gen.core.review import ReviewDecision, ReviewRequest

RETRY = "none of them: play the round again"
BY = "mcp-elicitation"


def _label(iteration: int, score: int | None) -> str:
    return f"image #{iteration} (score {score})"


def form_of(request: ReviewRequest) -> type[BaseModel]:
    """The question as a flat form (elicitation takes only primitive fields)."""
    labels = [_label(c.iteration, c.score) for c in request.candidates]
    if request.kind == "round" and request.can_continue:
        labels.append(RETRY)
    suggested = next(
        (label for c, label in zip(request.candidates, labels, strict=False)
         if c.iteration == request.suggested),
        labels[0],
    )
    fields: dict[str, Any] = {
        "choice": (Literal[tuple(labels)], Field(suggested, description="the image to keep")),
    }
    if request.kind == "round":
        fields["notes"] = (str, Field("", description="notes for the next prompt"))
        fields["accept"] = (bool, Field(False, description="stop here with this image"))
    form: type[BaseModel] = create_model("Review", **fields)
    return form


def decision_of(answer: BaseModel, request: ReviewRequest) -> ReviewDecision:
    given = answer.model_dump()
    notes = str(given.get("notes") or "")
    if given["choice"] == RETRY:
        return ReviewDecision(retry=True, notes=notes, by=BY)
    pick = next(
        c.iteration for c in request.candidates if _label(c.iteration, c.score) == given["choice"]
    )
    return ReviewDecision(pick=pick, accept=bool(given.get("accept")), notes=notes, by=BY)


def can_ask(ctx: Context[Any, Any]) -> bool:
    """Whether this client can be asked now (form elicitation, on a connection that carries
    requests from the server)."""
    capabilities = ctx.client_capabilities
    return bool(capabilities and capabilities.elicitation and ctx.session.can_send_request)


async def ask(ctx: Context[Any, Any], request: ReviewRequest, run_id: str) -> ReviewDecision | None:
    """The user's decision, or None (declined, cancelled, or not answerable here)."""
    what = "Which image should the run keep" if request.kind == "final" else (
        "Which image should the next round start from")
    message = f"Run {run_id}, {request.kind} review of round {request.round}: {what}?"
    try:
        answer = await ctx.elicit(message, form_of(request))
    except Exception as exc:  # a client that fails the request: the tool still answers
        logging.getLogger(__name__).info("elicitation failed: %s", exc)
        return None
    if answer.action != "accept":
        return None
    return decision_of(answer.data, request)
