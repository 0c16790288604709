"""report.html: every iteration of a run on one page, rebuilt from run.json alone.

The page must open anywhere without a network: images by path relative to the run folder
(or embedded, for a copy that travels alone), styles inline, no scripts. Everything the user
or a model wrote goes through jinja2's autoescape; nothing here marks user data as safe.
"""

from __future__ import annotations

import base64
import difflib
import functools
import json
import mimetypes
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

import jinja2

from agentic_image_gen.core.config import public_dump
from agentic_image_gen.core.events import stop_label
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.core.types import Evaluation, Iteration
from agentic_image_gen.core.usage import totals_of
from agentic_image_gen.core.version import __version__
from agentic_image_gen.store.run_store import REPORT_NAME, RunJournal, atomic_write, load_journal

TEMPLATE_NAME = "report.html.j2"
_TEMPLATES = Path(__file__).resolve().parent / "templates"

# Score chart geometry (SVG user units); the SVG scales to its container.
_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM, _PAD = 560, 230, 40, 122, 24, 34, 18


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    index: int
    score: int
    best: bool


@dataclass(frozen=True)
class Chart:
    """A score-per-iteration line chart, laid out here so the template only draws."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    threshold_y: float
    points: list[ChartPoint]
    grid: list[tuple[int, float]]
    x_labels: list[tuple[str, float]]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def prompt_diff(previous: str | None, current: str) -> list[tuple[str, str]]:
    """Word-level diff as (kind, text) runs: kind is ``same``, ``ins`` or ``del``."""
    if previous is None:
        return [("same", current)]
    old, new = previous.split(), current.split()
    runs: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            runs.append(("same", " ".join(new[j1:j2])))
            continue
        if tag in ("delete", "replace"):
            runs.append(("del", " ".join(old[i1:i2])))
        if tag in ("insert", "replace"):
            runs.append(("ins", " ".join(new[j1:j2])))
    return runs


def score_chart(iterations: list[Iteration], threshold: int, best: int | None) -> Chart:
    """Scores 0-100 on y, iteration number on x, with the stop threshold as a line."""
    plot_w, plot_h = _W - _LEFT - _RIGHT - 2 * _PAD, _H - _TOP - _BOTTOM
    count = max(len(iterations), 1)

    def x_of(index: int) -> float:
        start = _LEFT + _PAD
        return start + plot_w / 2 if count == 1 else start + plot_w * (index - 1) / (count - 1)

    def y_of(score: float) -> float:
        return _TOP + plot_h * (100 - score) / 100

    points = [
        ChartPoint(x_of(it.index), y_of(it.score), it.index, it.score, it.index == best)
        for it in iterations
        if it.evaluation is not None
    ]
    step = max(1, -(-count // 12))  # at most ~12 labels however long the run
    labels = [(f"#{it.index}", x_of(it.index)) for it in iterations if (it.index - 1) % step == 0]
    return Chart(
        width=_W,
        height=_H,
        left=_LEFT,
        right=_W - _RIGHT,
        top=_TOP,
        bottom=_H - _BOTTOM,
        threshold_y=y_of(threshold),
        points=points,
        grid=[(score, y_of(score)) for score in (0, 25, 50, 75, 100)],
        x_labels=labels,
    )


def _image_src(path: str, journal: RunJournal, run_dir: Path, embed: bool) -> tuple[str, bool]:
    """(src, exists): the image relative to the run folder, which may have moved since."""
    try:
        relative = PurePath(path).relative_to(journal.result.run_dir)
    except ValueError:
        relative = PurePath(os.path.relpath(path, run_dir))
    local = run_dir / relative
    if not local.is_file():
        return quote(relative.as_posix()), False
    if embed:
        mime = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
        encoded = base64.b64encode(local.read_bytes()).decode("ascii")
        return f"data:{mime};base64,{encoded}", True
    return quote(relative.as_posix()), True


def _delivery(
    result: RunResult, journal: RunJournal, run_dir: Path, embed: bool
) -> dict[str, Any] | None:
    if result.delivery is None:
        return None
    src, exists = _image_src(result.delivery.path, journal, run_dir, embed)
    return {"src": src, "exists": exists, **result.delivery.model_dump()}


def _findings(evaluation: Evaluation) -> dict[str, Any]:
    """What an evaluation found, typed fields first, then the evaluator's own numbers."""
    findings: dict[str, Any] = {}
    if evaluation.requirements is not None:
        findings["requirements"] = [r.model_dump() for r in evaluation.requirements]
    if evaluation.fixes:
        findings["fixes"] = evaluation.fixes
    return {**findings, **evaluation.details}


def _details(details: dict[str, Any]) -> list[dict[str, Any]]:
    """Structured findings, whatever shape a provider chose: checklist answers become a
    pass/fail list, anything else one readable line."""
    rows: list[dict[str, Any]] = []
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        label = str(key).replace("_", " ")
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) and "passed" in v for v in value)
        ):
            checks = [(bool(v["passed"]), str(v.get("question") or v.get("id")), v) for v in value]
            rows.append({"label": label, "checks": checks, "text": ""})
            continue
        if isinstance(value, dict):
            text = " · ".join(f"{k}: {_plain(v)}" for k, v in value.items())
        elif isinstance(value, list):
            text = "; ".join(_plain(v) for v in value)
        else:
            text = _plain(value)
        rows.append({"label": label, "checks": [], "text": text})
    return rows


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _score_tone(score: int | None, threshold: int) -> str:
    if score is None:
        return "none"
    return "good" if score >= threshold else "fair" if score >= threshold - 20 else "poor"


def _pretty_time(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).strftime("%d %b %Y, %H:%M UTC")
    except ValueError:
        return stamp


def _seconds_between(start: str, end: str) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def build_context(journal: RunJournal, run_dir: Path, *, embed: bool = False) -> dict[str, Any]:
    """Everything the template shows, computed from the journal (the source of truth)."""
    result, config = journal.result, public_dump(journal.config)
    image = config.get("image") or {}
    threshold = int(config.get("threshold", 85))
    best = result.best()
    best_index = best.index if best else None
    transparent = image.get("background") != "opaque" and image.get("output_format") != "jpeg"
    cards: list[dict[str, Any]] = []
    # Candidates of one round share a prompt: diff against the round before. With one
    # candidate a round is an iteration (also in journals written before rounds existed).
    several = any(getattr(it, "candidate", 1) > 1 for it in result.iterations)
    round_of = {
        it.index: getattr(it, "round", 1) if several else it.index for it in result.iterations
    }
    prompts: dict[int, str] = {}
    for it in result.iterations:
        src, exists = _image_src(it.image_path, journal, run_dir, embed)
        earlier = [r for r in prompts if r < round_of[it.index]]
        diff = prompt_diff(prompts[max(earlier)] if earlier else None, it.prompt)
        prompts.setdefault(round_of[it.index], it.prompt)
        evaluation = it.evaluation
        place = f"round {round_of[it.index]} · candidate {getattr(it, 'candidate', 1)}"
        cards.append(
            {
                "index": it.index,
                "place": place if several else None,
                "compared": bool(earlier),
                "src": src,
                "exists": exists,
                "width": it.width,
                "height": it.height,
                "score": evaluation.score if evaluation else None,
                "fidelity": it.fidelity.model_dump() if it.fidelity else None,
                "tone": _score_tone(evaluation.score if evaluation else None, threshold),
                "feedback": evaluation.feedback if evaluation else None,
                "details": _details(_findings(evaluation)) if evaluation else [],
                "prompt": it.prompt,
                "diff": diff,
                "added": sum(len(t.split()) for k, t in diff if k == "ins"),
                "removed": sum(len(t.split()) for k, t in diff if k == "del"),
                "revised_prompt": it.revised_prompt,
                "generation_seconds": it.generation_seconds,
                "evaluation_seconds": it.evaluation_seconds,
                "best": it.index == best_index,
            }
        )
    references = []
    for ref in journal.references:
        src, exists = _image_src(ref.path, journal, run_dir, embed)
        short = ref.source if "://" in ref.source else PurePath(ref.source).name  # full: tooltip
        references.append({"src": src, "exists": exists, "short": short, **ref.model_dump()})
    wall = _seconds_between(journal.created_at, journal.updated_at)
    generation = sum(it.generation_seconds for it in result.iterations)
    evaluation_total = sum(it.evaluation_seconds for it in result.iterations)
    scored = [card["score"] for card in cards if card["score"] is not None]
    usage = totals_of(result.usage).model_dump()
    tie_breaks = [t for t in getattr(result, "tie_breaks", []) if t.winner == best_index]
    return {
        "version": __version__,
        "journal": journal,
        "result": result,
        "status": journal.status,
        "created": _pretty_time(journal.created_at),
        "updated": _pretty_time(journal.updated_at),
        "stop_reason": stop_label(result.stop_reason) if result.stop_reason else None,
        "improvement": (max(scored) - scored[0]) if scored else None,
        "usage": usage if usage.get("calls") else None,
        "tie_breaks": tie_breaks,
        "image": image,
        "provider_options": config.get("provider_options") or {},
        "providers": config.get("providers") or {},
        "threshold": threshold,
        "max_iterations": config.get("max_iterations"),
        # With candidates, --max-iterations counts rounds: the stat says rounds, not images.
        "rounds": len(set(round_of.values())) if several else None,
        "transparent": transparent,
        "cards": cards,
        "best": next((card for card in cards if card["best"]), None),
        "references": references,
        "delivery": _delivery(result, journal, run_dir, embed),
        "chart": score_chart(result.iterations, threshold, best_index),
        "timings": {
            "generation": generation,
            "evaluation": evaluation_total,
            "total": generation + evaluation_total,
            "wall": wall,
            # run.json keeps whole seconds: never show less than the measured stages took
            "elapsed": max(wall or 0.0, generation + evaluation_total),
        },
    }


def render_report(run_dir: Path, *, embed_images: bool = False) -> str:
    """The report's HTML; ``embed_images`` inlines images so one file can be shared alone."""
    run_dir = run_dir.resolve()
    journal = load_journal(run_dir)
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(build_context(journal, run_dir, embed=embed_images))


@functools.cache
def _environment() -> jinja2.Environment:
    """One per process: the template compiles once (~0.1 s), not at every iteration's report."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,  # the template is .html.j2, which select_autoescape would not match
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def write_report(run_dir: Path) -> Path:
    """Build ``report.html`` in the run folder (atomically) and return its path."""
    run_dir = run_dir.resolve()
    path = run_dir / REPORT_NAME
    # A lone surrogate (an undecodable byte in a prompt or path) is written as its escape.
    atomic_write(path, render_report(run_dir).encode("utf-8", "backslashreplace"))
    return path
