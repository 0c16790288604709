"""Every subcommand, as one entry of ``COMMANDS``: its name, help, arguments and handler.

Adding a subcommand is adding an entry: the CLI's one parser, one error path and one event
loop serve it. A handler is a function of the parsed arguments and the process's ``Context``
returning the exit code: an ``async`` one runs in the process's event loop (a first signal
cancels it); a plain one runs before any loop (a first signal stops it at once). Handlers
import what they need when they run, so ``--help`` stays fast.

The run folder (its run.json) is the source of truth; nothing here keeps an index. A journal
is a file anyone can edit or damage, so these commands never trace back: whatever they meet
is one error line and a non-zero exit (``runs`` skips a bad folder with a warning and lists
the rest), and text from a journal reaches a terminal only with its control characters escaped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.frontends.error_output import printable
from agentic_image_gen.frontends.process import Context

Handler = Callable[[argparse.Namespace, Context], int | Awaitable[int]]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    handler: Handler
    json_errors: str = 'on failure, also print {"error": {...}} on stdout'  # the flag's help
    # Flags it does not know are a run's, passed on as ``run_flags`` (batch: every product's).
    takes_run_flags: bool = False


def _runs(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.engine.runs import list_runs

    try:
        summaries, skipped = list_runs(args.out)
    except InputError as error:
        raise InputError(f"--out {error}") from error
    if args.json:
        context.print_json([summary.model_dump(mode="json") for summary in summaries])
    else:
        for summary in summaries:
            best = "-" if summary.best_score is None else str(summary.best_score)
            row = (summary.created_at, summary.status, best, str(summary.iterations),
                   summary.prompt[:60], summary.run_dir)
            print("\t".join(printable(cell) for cell in row))
    for reason in skipped:
        print(f"warning: {printable(reason)}; skipped", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.engine.runs import output_of

    context.print_json(output_of(args.run_dir).to_json())
    return 0


def _schema(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.core.output import output_schema

    context.print_json(output_schema())
    return 0


def _nothing(parser: argparse.ArgumentParser) -> None:
    """A subcommand without arguments of its own."""


def _report(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.engine.runs import write_report

    print(printable(str(write_report(args.run_dir))))
    return 0


def _profiles(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.frontends.profiles_command import list_profiles

    return list_profiles(args.json)


def _providers(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.frontends.providers_command import list_providers

    return list_providers(args.json)


def _models(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.engine.installed import fetch_models

    for path in fetch_models(args.names):
        print(printable(path))
    return 0


def _mcp(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.frontends.mcp import run

    return run(args)


def _mcp_arguments(parser: argparse.ArgumentParser) -> None:
    from agentic_image_gen.frontends.mcp import add_arguments

    add_arguments(parser)


def _web(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.frontends import web

    return web.run(args)


def _web_arguments(parser: argparse.ArgumentParser) -> None:
    from agentic_image_gen.frontends import web

    web.add_arguments(parser)


def _batch(args: argparse.Namespace, context: Context) -> Awaitable[int]:
    from agentic_image_gen.frontends.batch.command import main

    return main(args)


def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    from agentic_image_gen.frontends.batch.options import EPILOG, add_arguments

    parser.description = (
        "Run every product of a catalog: one run folder each, one budget and one rate limit "
        "for all, resumable; catalog.json, .csv and .html at the end."
    )
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_arguments(parser)


def _run(args: argparse.Namespace, context: Context) -> Awaitable[int]:
    from agentic_image_gen.frontends.run_command import run

    return run(args, context)


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    from agentic_image_gen.frontends.arguments import add_run_arguments

    add_run_arguments(parser)


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs"), help="where the runs are")
    _as_json(parser)


def _as_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="a JSON list instead of text")


def _run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path)


def _fetch(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    fetch = actions.add_parser("fetch", help="download and verify models (e.g. isnet, birefnet)")
    fetch.add_argument("names", nargs="+", metavar="NAME")
    fetch.add_argument("--json-errors", action="store_true", help=argparse.SUPPRESS)


# "run" is what a command line without a subcommand does.
COMMANDS = (
    Command(
        "run",
        "make an image (the default: `agentic-image-gen PROMPT ...` is `... run PROMPT ...`)",
        _run_arguments,
        _run,
        'when failing before a run starts, also print {"error": {...}} on stdout',
    ),
    Command("runs", "list past runs, newest first", _out, _runs),
    Command("show", "print a run's JSON again", _run_dir, _show),
    Command("schema", "the JSON Schema of a run's output (what run and show print)", _nothing,
            _schema),
    Command("report", "rebuild a run's report.html; print its path", _run_dir, _report),
    Command("profiles", "the marketplace profiles and their rules", _as_json, _profiles),
    Command(
        "providers",
        "installed providers: roles, needs, options, usable now or not",
        _as_json,
        _providers,
    ),
    Command("models", "segmentation models: 'fetch NAME' gets one ahead of time", _fetch, _models),
    Command("mcp", "serve the loop to agents over MCP (stdio; --http)", _mcp_arguments, _mcp),
    Command("web", "a local web app to start, watch, steer and approve runs", _web_arguments,
            _web),
    Command(
        "batch",
        "a whole catalog (CSV): one budget, one rate limit, resumable, a catalog report",
        _batch_arguments,
        _batch,
        takes_run_flags=True,
    ),
)
