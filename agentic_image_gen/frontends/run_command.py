"""The run command: one run (or resume) in a session of its own, its JSON published in the
same event loop, with progress when a person watches.

A signal before the run starts ends the process as the error ``interrupted``; once the run
has started, it cancels the run, which journals itself, and the partial result is printed
(exit 128 + the signal); once the run has ended, its result is printed whatever arrives.
"""

from __future__ import annotations

import argparse
import asyncio

from pydantic import ValidationError

from agentic_image_gen.core.errors import InputError, RunFailed, RunInterrupted
from agentic_image_gen.core.types import RunResult
from agentic_image_gen.engine.runs import load_journal, publish
from agentic_image_gen.engine.session import Session
from agentic_image_gen.frontends import progress as progress_display
from agentic_image_gen.frontends.arguments import config_from, flag_message, resume_overrides
from agentic_image_gen.frontends.process import Context


async def _result(args: argparse.Namespace, context: Context) -> RunResult:
    progress = progress_display.make_progress(args.quiet)
    async with Session() as session:
        if args.resume is not None:
            if args.prompt is not None:
                raise InputError("give either a prompt or --resume RUN_DIR, not both")
            load_journal(args.resume)  # "not a run folder" before any flag's complaint
            started = session.resume(args.resume, progress, **resume_overrides(args))
        else:
            started = session.run(config_from(args), progress)
        task = asyncio.ensure_future(started)
        context.signals.cancel(task)
        try:
            return await task
        except ValidationError as exc:  # a resume's limits, checked when it opens the run
            raise InputError(flag_message(exc)) from exc
        except RunInterrupted as stopped:
            if context.signals.first:  # killed politely: 128 + the signal, as shells report
                stopped.exit_code = 128 + context.signals.first
            raise
        finally:
            context.signals.cancel(None)  # the run is over: its result is printed regardless


async def run(args: argparse.Namespace, context: Context) -> int:
    try:
        result = await _result(args, context)
    except RunFailed as failure:
        output, _ = await publish(failure.partial, upload=None)
        context.print_json(output)
        raise
    upload = args.upload if result.stop_reason not in ("error", "interrupted") else None
    output, upload_error = await publish(
        result, upload=upload, public=args.public, upload_report=args.upload_report
    )
    context.print_json(output)
    if upload_error is not None:
        raise upload_error
    return 0
