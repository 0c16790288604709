"""The engine's events as MCP progress notifications: one per stage and per scored image,
each naming the round, the candidate, the score and the cost so far."""

from __future__ import annotations

from agentic_image_gen.core.events import (
    Event,
    ImageSaved,
    ImageScored,
    ReviewRequested,
    RunFinished,
    RunStarted,
    StageStarted,
    stop_label,
)

REVIEW_REQUESTED = "review_requested"


def notice(event: Event, run_id: str, max_rounds: int, candidates: int) -> str | None:
    """The line a host shows for ``event`` (None: nothing worth a notification)."""
    snapshot = event.snapshot
    cost = f"${snapshot.cost_usd:.3f} so far"
    where = f"round {event.round}/{max_rounds}"
    if candidates > 1:
        where += f" · candidate {event.candidate}"
    if isinstance(event, RunStarted):
        return (f"run {run_id} started: up to {event.max_rounds} round(s) of "
                f"{event.candidates} image(s)")
    if isinstance(event, StageStarted):
        return f"{where} · {event.stage} image #{event.iteration} · {cost}"
    if isinstance(event, ImageScored):
        best = f"best {snapshot.best_score} (#{snapshot.best_iteration})"
        return f"{where} · image #{event.iteration} scored {event.score} · {best} · {cost}"
    if isinstance(event, ReviewRequested):
        picks = ", ".join(f"#{c.iteration} ({c.score})" for c in event.request.candidates)
        return (f"{REVIEW_REQUESTED}: the {event.request.kind} review of round "
                f"{event.request.round} waits for a person: {picks} · answer with review_run")
    if isinstance(event, RunFinished):
        return f"run {run_id} finished: {stop_label(event.stop_reason)} · {cost}"
    assert isinstance(event, ImageSaved)
    return None  # the evaluating stage that follows says so
