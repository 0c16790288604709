"""Finished and stopped runs, for front ends: a folder's output, the list of runs, the
report, publishing. Front ends call these (or the Session's methods that wrap them) rather
than the store, so every view of a run comes from one place: ``RunResult.output()``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentic_image_gen.core.errors import AigError, InputError
from agentic_image_gen.core.output import RunOutput, RunSummary
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.store.files import atomic_write
from agentic_image_gen.store.lock import FolderLock
from agentic_image_gen.store.run_store import JOURNAL_NAME, REPORT_NAME, RunJournal, load_journal

__all__ = [
    "JOURNAL_NAME",
    "REPORT_NAME",
    "FolderLock",
    "RunJournal",
    "atomic_write",  # a front end's own state file is written as run.json is
    "list_runs",
    "load_journal",
    "output_of",
    "publish",
    "upload_file",
    "write_report",
]


def output_of(run_dir: Path, journal: RunJournal | None = None) -> RunOutput:
    """The run's output as the run printed it, with ``report`` when report.html exists and
    the journal's status (it knows a run that waits for a person)."""
    journal = journal or load_journal(run_dir)
    report = run_dir.resolve() / REPORT_NAME
    status = journal.status if journal.result.stop_reason is None else None
    return journal.result.output(
        status=status, report=str(report) if report.is_file() else None
    )


def list_runs(out_dir: Path) -> tuple[list[RunSummary], list[str]]:
    """Every run folder under ``out_dir``, newest first; and why any was skipped (a damaged
    journal is a warning, never the end of the list)."""
    summaries: list[RunSummary] = []
    skipped: list[str] = []
    for folder in _run_folders(out_dir):
        try:
            journal = load_journal(folder)
        except InputError as error:
            skipped.append(str(error))
            continue
        output = output_of(folder, journal)
        prompt = " ".join(journal.result.original_prompt.split())
        summaries.append(RunSummary.of(output, journal.created_at, prompt))
    summaries.sort(key=lambda summary: (summary.created_at, summary.run_dir), reverse=True)
    return summaries, skipped


def _run_folders(out_dir: Path) -> list[Path]:
    if not out_dir.exists():
        return []  # no runs yet
    if not out_dir.is_dir():
        raise InputError(f"{out_dir} is not a folder of runs")
    try:
        return sorted(folder for folder in out_dir.iterdir() if (folder / JOURNAL_NAME).exists())
    except OSError as exc:
        raise InputError(f"{out_dir} cannot be listed: {exc.strerror or exc}") from exc


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
) -> tuple[RunOutput, AigError | None]:
    """The run's output with its report written (and the upload's URLs, or its error)."""
    from agentic_image_gen.store.publish import publish as publish_run

    return await publish_run(result, upload=upload, public=public, upload_report=upload_report)


async def upload_file(
    path: Path, destination: str, *, public: bool = False, expires_in: int = 3600
) -> str:
    """Upload one file of a run (a catalog's delivery) to ``s3://bucket/prefix/`` under its
    own name; its presigned URL (or plain one, ``public``). StorageError when it fails."""
    from agentic_image_gen.store.upload import upload_image_to_cloud  # boto3: only when asked

    return await asyncio.to_thread(
        upload_image_to_cloud, str(path), destination, public=public, expires_in=expires_in
    )
