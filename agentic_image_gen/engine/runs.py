"""Finished and stopped runs, for front ends: read a run folder, rebuild its report, publish.

Front ends call these rather than the store, so every view of a run comes from one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentic_image_gen.core.errors import AigError
from agentic_image_gen.core.types import RunResult
from agentic_image_gen.store.run_store import JOURNAL_NAME, REPORT_NAME, RunJournal, load_journal

__all__ = [
    "JOURNAL_NAME",
    "REPORT_NAME",
    "RunJournal",
    "load_journal",
    "publish",
    "run_output",
    "write_report",
]


def run_output(run_dir: Path, journal: RunJournal) -> dict[str, Any]:
    """The run's JSON as the run printed it, plus ``report`` when report.html exists."""
    output = journal.result.to_output()
    report = run_dir.resolve() / REPORT_NAME
    if report.is_file():
        output["report"] = str(report)
    return output


def write_report(run_dir: Path) -> Path:
    """Rebuild a run's report.html from its journal; its path."""
    from agentic_image_gen.store.report import write_report as write  # jinja2: only when asked

    return write(run_dir)


async def publish(
    result: RunResult,
    *,
    upload: str | None = None,
    public: bool = False,
    upload_report: bool = False,
) -> tuple[dict[str, Any], AigError | None]:
    """The run's JSON with its report written (and the upload's URLs, or its error)."""
    from agentic_image_gen.store.publish import publish as publish_run

    return await publish_run(result, upload=upload, public=public, upload_report=upload_report)
