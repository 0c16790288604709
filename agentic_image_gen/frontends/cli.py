"""Command line: one parser (frontends/parser.py), one error path, one event loop; stdout
carries one JSON object, an error one line on stderr (and its JSON with ``--json-errors``).

The signal handlers go in first, so a Ctrl-C at any moment of the program's life is handled
by one policy (frontends/signals.py); everything else loads after them. Everything a run
needs is set up by the engine, not here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Sequence

from agentic_image_gen.core.errors import AigError
from agentic_image_gen.frontends.error_output import PROG, print_error
from agentic_image_gen.frontends.process import Context
from agentic_image_gen.frontends.signals import Signals, Stopped


def main(argv: Sequence[str] | None = None) -> int:
    signals = Signals().install()
    try:
        return _main(list(sys.argv[1:] if argv is None else argv), signals)
    finally:
        if argv is None:  # the program: all that is left is to exit, with the code it has
            signals.ignore()
        else:  # called from code (a test, a host program): its handlers back
            signals.restore()


def _main(arguments: list[str], signals: Signals) -> int:
    # Read from the raw arguments so that argparse's own errors get the JSON form too.
    json_errors = "--json-errors" in arguments
    context = Context(signals)
    try:
        # pydantic-core's compiled code imports datetime's C API itself, and a signal landing
        # in that import makes it panic (a Rust backtrace on stderr): datetime is imported
        # first, here, where a signal is a plain Stopped.
        with signals.raising():
            import asyncio
            import datetime  # noqa: F401  (see above)
            import inspect

            from agentic_image_gen.frontends.parser import parse

            args = parse(arguments)
            outcome = args.spec.handler(args, context)  # a plain handler's work is done here
        if inspect.isawaitable(outcome):
            code: int = asyncio.run(_in_loop(outcome, signals))
            return code
        return int(outcome)
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
    import asyncio
    import signal

    signals.cancel(asyncio.current_task())
    try:
        return await work
    except asyncio.CancelledError:  # stopped before a run began: nothing to keep
        raise Stopped(signals.first or signal.SIGINT) from None
