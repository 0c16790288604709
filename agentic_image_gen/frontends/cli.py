"""Command line: parse, run through the engine's Session, print one JSON object on stdout, map
errors to exit codes. Everything a run needs is set up by the engine, not here."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from agentic_image_gen.core.errors import (
    EXIT_INTERRUPTED,
    AigError,
    InputError,
    RunFailed,
    RunInterrupted,
)
from agentic_image_gen.core.result import RunResult
from agentic_image_gen.frontends.arguments import (
    PROG,
    build_parser,
    config_from,
    flag_message,
    resume_overrides,
)
from agentic_image_gen.frontends.error_output import print_error

if TYPE_CHECKING:
    from agentic_image_gen.core.events import Event
    from agentic_image_gen.core.output import RunOutput
    from agentic_image_gen.frontends.terminal_review import TerminalReviewer


async def _run(args: argparse.Namespace) -> RunResult:
    """One run (or resume) in a session of its own, with progress when a person watches."""
    # Imported here so that --help and argument errors never pay for the engine's imports.
    from agentic_image_gen.core.events import RunFinished
    from agentic_image_gen.engine.runs import load_journal
    from agentic_image_gen.engine.session import Session
    from agentic_image_gen.frontends.progress import make_progress

    progress = make_progress(args.quiet)
    finished: list[RunResult] = []

    def sink(event: Event) -> None:
        if isinstance(event, RunFinished):  # every run ends with one, however it ends
            finished.append(event.result)
        if progress is not None:
            progress(event)

    received = _stop_on_signals()
    try:
        async with Session() as session:
            if args.resume is not None:
                if args.prompt is not None:
                    raise InputError("give either a prompt or --resume RUN_DIR, not both")
                journal = load_journal(args.resume)  # "not a run folder" before any flag's
                reviewer = _reviewer(journal.config.review)
                try:
                    return await session.resume(
                        args.resume, sink, reviewer=reviewer, **resume_overrides(args)
                    )
                except ValidationError as exc:
                    raise InputError(flag_message(exc)) from exc
            config = config_from(args)
            reviewer = _reviewer(config.review)
            try:
                return await session.run(config, sink, reviewer=reviewer)
            except ValidationError as exc:  # a name that is not installed here
                raise InputError(flag_message(exc)) from exc
    except asyncio.CancelledError:
        signum = received[0] if received else signal.SIGINT
        if finished:  # the run journaled itself as interrupted: its partial JSON is printed
            stopped = RunInterrupted(finished[-1])
            stopped.exit_code = 128 + signum
            raise stopped from None
        raise Stopped(signum) from None  # stopped before a run began: nothing to keep


def _reviewer(mode: str) -> TerminalReviewer | None:
    """A person at this terminal answers review requests; without one, one line (exit 2)."""
    if mode == "never":
        return None
    if not sys.stdin.isatty():
        raise InputError(f"--review {mode} needs a terminal to answer at (stdin is not a TTY)")
    from agentic_image_gen.frontends.terminal_review import TerminalReviewer

    return TerminalReviewer()


class Stopped(Exception):
    """A signal ended the process before any run started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


def _stop_on_signals() -> list[int]:
    """SIGTERM and SIGHUP (what timeout, systemd, Docker and CI send) end a run the way
    Ctrl-C does: the run is cancelled, journals itself, and the partial JSON is printed."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        if task is not None:
            task.cancel()

    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop, signum)
    return received


def _print_json(output: RunOutput) -> None:
    from agentic_image_gen.frontends.json_output import print_json  # lone surrogates kept

    print_json(output.to_json())


def _published(
    result: RunResult, args: argparse.Namespace
) -> tuple[RunOutput, AigError | None]:
    from agentic_image_gen.engine.runs import publish

    upload = args.upload if result.stop_reason not in ("error", "interrupted") else None
    return asyncio.run(
        publish(result, upload=upload, public=args.public, upload_report=args.upload_report)
    )


def _fail(error: AigError, json_errors: bool = False) -> int:
    return print_error(PROG, error, json_errors)


# Subcommands that work on run folders or list providers; anything else is a new run.
COMMANDS = ("runs", "show", "report", "providers", "profiles", "models", "schema", "web")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in COMMANDS:
        from agentic_image_gen.frontends.commands import run_command

        try:
            return run_command(arguments)
        except AigError as error:
            return _fail(error)
        except BrokenPipeError:  # e.g. `| head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if arguments and arguments[0] == "run":
        arguments = arguments[1:]
    try:
        args = build_parser().parse_args(arguments)
        result = asyncio.run(_run(args))
    except RunFailed as failure:
        _print_json(_published(failure.partial, args)[0])
        return _fail(failure)
    except AigError as error:
        # Read from the raw arguments so that argparse's own errors get the JSON form too.
        return _fail(error, json_errors="--json-errors" in arguments)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except Stopped as stopped:
        print(f"{PROG}: interrupted ({stopped})", file=sys.stderr, flush=True)
        return stopped.exit_code
    except Exception as bug:  # one line for users; the traceback on request
        if os.environ.get("AIG_DEBUG"):
            raise
        return _fail(
            AigError(f"internal error: {type(bug).__name__}: {bug} (AIG_DEBUG=1 shows where)")
        )
    output, upload_error = _published(result, args)
    _print_json(output)
    return _fail(upload_error) if upload_error else 0
