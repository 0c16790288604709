"""Command line: one parser for the run and every subcommand (frontends/commands.py), one
error path, one event loop; stdout carries one JSON object, errors one line on stderr.

Everything a run needs is set up by the engine, not here. ``agentic-image-gen PROMPT ...`` is
``agentic-image-gen run PROMPT ...``: a command line that names no subcommand is a run.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import signal
import sys
from collections.abc import Awaitable, Sequence
from typing import NoReturn

from agentic_image_gen.core.errors import AigError, InputError
from agentic_image_gen.frontends.commands import COMMANDS, Command
from agentic_image_gen.frontends.error_output import PROG, print_error
from agentic_image_gen.frontends.process import Context
from agentic_image_gen.frontends.signals import Signals, Stopped


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line (InputError) instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def build_parser() -> Parser:
    parser = Parser(prog=PROG)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        # The run's usage is the program's own: naming "run" is optional.
        prog = PROG if command.name == "run" else f"{PROG} {command.name}"
        sub = commands.add_parser(command.name, prog=prog, help=command.help)
        command.arguments(sub)
        if command.name == "run":
            sub.epilog = f"{sub.epilog}\n{_listing()}"
        sub.add_argument("--json-errors", action="store_true", help=command.json_errors)
        sub.set_defaults(spec=command)
    return parser


def _listing() -> str:
    lines = [f"  {command.name:<10} {command.help}" for command in COMMANDS[1:]]
    return "\n".join([f"subcommands ({PROG} COMMAND --help for each):", *lines]) + "\n"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed command line; with no subcommand named, a run's."""
    names = {command.name for command in COMMANDS}
    arguments = list(argv)
    if not arguments or arguments[0] not in names:
        arguments.insert(0, "run")
    return build_parser().parse_args(arguments)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    signals = Signals().install()
    try:
        return _main(arguments, signals)
    finally:
        if argv is not None:  # called from code (a test, a host program): its handlers back
            signals.restore()


def _main(arguments: list[str], signals: Signals) -> int:
    # Read from the raw arguments so that argparse's own errors get the JSON form too.
    json_errors = "--json-errors" in arguments
    context = Context(signals)
    try:
        with signals.raising():
            args = parse(arguments)
            spec: Command = args.spec
            outcome = spec.handler(args, context)  # a plain handler's work is done here
        if inspect.isawaitable(outcome):
            return asyncio.run(_in_loop(outcome, signals))
        return outcome
    except AigError as error:
        signals.quiet()
        return print_error(PROG, error, json_errors and not context.printed)
    except BrokenPipeError:  # e.g. `| head`: the reader has what it wanted
        signals.quiet()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as bug:  # one line for users; the traceback on request
        signals.quiet()
        if os.environ.get("AIG_DEBUG"):
            raise
        where = "(AIG_DEBUG=1 shows where)"
        internal = AigError(f"internal error: {type(bug).__name__}: {bug} {where}")
        return print_error(PROG, internal, json_errors and not context.printed)


async def _in_loop(work: Awaitable[int], signals: Signals) -> int:
    """The process's one event loop: a first signal cancels ``work`` (or the run it starts)."""
    signals.cancel(asyncio.current_task())
    try:
        return await work
    except asyncio.CancelledError:  # stopped before a run began: nothing to keep
        raise Stopped(signals.first or signal.SIGINT) from None
