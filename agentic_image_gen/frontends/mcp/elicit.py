"""A review asked of the user directly, where the client supports elicitation: a choice among
the candidates (and, at a round, notes and accept). Declined, cancelled or unsupported, the
run waits for the review_run tool instead.

Two ways to ask, as the connection allows: a request to the client in the middle of the call
(the handshake protocols hosts speak today), or, on a connection without that back-channel
(2026-07-28), the call answers "input required" with the question and the run's id as its
state, and the client calls again with the answer."""

from __future__ import annotations

import logging
from typing import Any, Literal

from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field, ValidationError, create_model

from agentic_image_gen.core.review import ReviewDecision, ReviewRequest

RETRY = "none of them: play the round again"
BY = "mcp-elicitation"
ANSWER = "review"  # the key of the question in an "input required" answer


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


def can_ask_by_reply(ctx: Context[Any, Any]) -> bool:
    """Whether this client takes a question as the call's answer ("input required")."""
    capabilities = ctx.client_capabilities
    modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
    return bool(capabilities and capabilities.elicitation and modern)


def _message(request: ReviewRequest, run_id: str) -> str:
    what = "Which image should the run keep" if request.kind == "final" else (
        "Which image should the next round start from")
    return f"Run {run_id}, {request.kind} review of round {request.round}: {what}?"


def question(request: ReviewRequest, run_id: str) -> InputRequiredResult:
    """The review as the call's answer; the client calls again with the user's answer and
    ``run_id`` as the state (sealed by the SDK: a client cannot forge it)."""
    form = ElicitRequestFormParams(
        message=_message(request, run_id),
        requested_schema=render_elicitation_schema(form_of(request)),
    )
    return InputRequiredResult(
        input_requests={ANSWER: ElicitRequest(params=form)}, request_state=run_id
    )


def answer_of(ctx: Context[Any, Any], request: ReviewRequest) -> ReviewDecision | None:
    """The user's decision carried by a call made again after ``question``, or None."""
    given = (ctx.input_responses or {}).get(ANSWER)
    if not isinstance(given, ElicitResult) or given.action != "accept" or not given.content:
        return None
    try:
        return decision_of(form_of(request).model_validate(given.content), request)
    except ValidationError:
        return None


async def ask(ctx: Context[Any, Any], request: ReviewRequest, run_id: str) -> ReviewDecision | None:
    """The user's decision, or None (declined, cancelled, or not answerable here)."""
    try:
        answer = await ctx.elicit(_message(request, run_id), form_of(request))
    except Exception as exc:  # a client that fails the request: the tool still answers
        logging.getLogger(__name__).info("elicitation failed: %s", exc)
        return None
    if answer.action != "accept":
        return None
    return decision_of(answer.data, request)
