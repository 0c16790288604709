"""The run command: one run (or resume) in a session of its own, its JSON published in the
same event loop, with progress when a person watches.

A signal before the run starts ends the process as the error ``interrupted``; once the run
has started, it cancels the run, which journals itself, and the partial result is printed
(exit 128 + the signal); once the run has ended, its result is printed whatever arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from agentic_image_gen.core.errors import InputError, NotCompliant, RunFailed, RunInterrupted
from agentic_image_gen.core.events import Event, RunFinished
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.engine.runs import load_journal, publish
from agentic_image_gen.engine.session import Session
from agentic_image_gen.frontends import progress as progress_display
from agentic_image_gen.frontends.arguments import config_from, flag_message, resume_overrides
from agentic_image_gen.frontends.process import Context
from agentic_image_gen.frontends.terminal_review import TerminalReviewer


async def _result(args: argparse.Namespace, context: Context) -> RunResult:
    progress = progress_display.make_progress(args.quiet)
    finished: list[RunResult] = []

    def sink(event: Event) -> None:
        if isinstance(event, RunFinished):  # every run ends with one, however it ends
            finished.append(event.result)
        if progress is not None:
            progress(event)

    async with Session() as session:
        if args.resume is not None:
            if args.prompt is not None:
                raise InputError("give either a prompt or --resume RUN_DIR, not both")
            journal = load_journal(args.resume)  # "not a run folder" before any flag's
            reviewer = _reviewer(journal.config.review)
            started = session.resume(
                args.resume, sink, reviewer=reviewer, **resume_overrides(args)
            )
        else:
            config = config_from(args)
            started = session.run(config, sink, reviewer=_reviewer(config.review))
        task = asyncio.ensure_future(started)
        context.signals.cancel(task)
        try:
            return await task
        except ValidationError as exc:  # a name not installed, a resume's limits
            raise InputError(flag_message(exc)) from exc
        except asyncio.CancelledError:
            if not (task.cancelled() and finished):
                raise
            # The run journaled itself as interrupted: its partial result is printed, and
            # the exit code is 128 + the signal, as shells report it.
            stopped = RunInterrupted(finished[-1])
            if context.signals.first:
                stopped.exit_code = 128 + context.signals.first
            raise stopped from None
        finally:
            context.signals.cancel(None)  # the run is over: its result is printed regardless


def _reviewer(mode: str) -> TerminalReviewer | None:
    """A person at this terminal answers review requests; without one, one line (exit 2)."""
    if mode == "never":
        return None
    if not sys.stdin.isatty():
        raise InputError(f"--review {mode} needs a terminal to answer at (stdin is not a TTY)")
    return TerminalReviewer()


async def run(args: argparse.Namespace, context: Context) -> int:
    try:
        result = await _result(args, context)
    except RunFailed as failure:
        output, _ = await publish(failure.partial, upload=None)
        context.print_json(output.to_json())
        raise
    upload = args.upload if result.stop_reason not in ("error", "interrupted") else None
    output, upload_error = await publish(
        result, upload=upload, public=args.public, upload_report=args.upload_report
    )
    context.print_json(output.to_json())
    if upload_error is not None:
        raise upload_error
    _check_delivery(result)
    return 0


def _check_delivery(result: RunResult) -> None:
    """A delivery in another format than the run's says so on stderr (one line); one that
    fails a rule is exit 11, each failing rule named (the file is kept: see ``delivery``)."""
    delivery, best = result.delivery, result.best()
    if delivery is None:
        return
    asked = best.output_format.value if best is not None else delivery.format
    if delivery.format != asked:
        print(
            f"warning: the {delivery.profile} file is {delivery.format.upper()}, not the "
            f"{asked.upper()} asked for (why: \"changes\" in its delivery block)",
            file=sys.stderr,
        )
    failed = [rule for rule in delivery.rules if not rule.passed]
    if failed:
        named = "; ".join(f"{r.rule} is {r.measured}, wants {r.expected}" for r in failed)
        raise NotCompliant(f"delivered, not compliant with {delivery.profile}: {named}")
