"""What happens after the loop: the HTML report, and the optional upload of the best image.

Neither may lose the local result: a failure becomes a warning (report) or an error key in the
JSON plus a non-zero exit (upload), and the JSON is printed either way.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agentic_image_gen.core.errors import AigError, StorageError
from agentic_image_gen.core.output import RunOutput
from agentic_image_gen.core.result import RunResult


async def publish(
    result: RunResult,
    *,
    upload: str | None = None,
    public: bool = False,
    upload_report: bool = False,
) -> tuple[RunOutput, AigError | None]:
    """The run's output with ``report`` (and upload URLs); plus the upload's error, if any."""
    from agentic_image_gen.store.report import render_report, write_report

    run_dir = Path(result.run_dir)
    report: str | None = None
    try:
        report = str(await asyncio.to_thread(write_report, run_dir))
    except (AigError, OSError) as exc:
        print(f"agentic-image-gen: warning: no report: {exc}", file=sys.stderr, flush=True)
    output = result.output(report=report)
    best = result.best()
    if upload is None or best is None:
        return output, None
    from agentic_image_gen.store.upload import upload_run

    try:
        html = render_report(run_dir, embed_images=True) if upload_report else None
        urls = await asyncio.to_thread(
            upload_run, run_dir, best.image_path, upload, report_html=html, public=public
        )
    except (AigError, OSError) as exc:
        error = exc if isinstance(exc, AigError) else StorageError(f"upload failed: {exc}")
        return output.model_copy(update={"upload_error": str(error)}), error
    return output.model_copy(update=urls), None
