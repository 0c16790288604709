"""Subcommands that work on existing run folders: ``runs``, ``show`` and ``report``.

The run folder (its run.json) is the source of truth; nothing here keeps an index. A journal
is a file anyone can edit or damage, so these commands never trace back: whatever they meet
is one error line and a non-zero exit (``runs`` skips a bad folder with a warning and lists
the rest), and text from a journal reaches a terminal only with its control characters escaped.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from agentic_image_gen.core.errors import AigError, InputError
from agentic_image_gen.engine.runs import output_of, write_report
from agentic_image_gen.frontends.error_output import print_error, printable
from agentic_image_gen.frontends.json_output import print_json

PROG = "agentic-image-gen"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def _runs(args: argparse.Namespace) -> int:
    from agentic_image_gen.engine.runs import list_runs

    try:
        summaries, skipped = list_runs(args.out)
    except InputError as error:
        raise InputError(f"--out {error}") from error
    if args.json:
        print_json([summary.model_dump(mode="json") for summary in summaries])
    else:
        for summary in summaries:
            best = "-" if summary.best_score is None else str(summary.best_score)
            row = (summary.created_at, summary.status, best, str(summary.iterations),
                   summary.prompt[:60], summary.run_dir)
            print("\t".join(printable(cell) for cell in row))
    for reason in skipped:
        print(f"warning: {printable(reason)}; skipped", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    print_json(output_of(args.run_dir).to_json())
    return 0


def _schema(args: argparse.Namespace) -> int:
    from agentic_image_gen.core.output import output_schema

    print_json(output_schema())
    return 0


def _report(args: argparse.Namespace) -> int:
    print(printable(str(write_report(args.run_dir))))
    return 0


def _profiles(args: argparse.Namespace) -> int:
    from agentic_image_gen.frontends.profiles_command import list_profiles

    return list_profiles(args.json)


def _providers(args: argparse.Namespace) -> int:
    from agentic_image_gen.frontends.providers_command import list_providers

    return list_providers(args.json)


def _fetch(args: argparse.Namespace) -> int:
    from agentic_image_gen.engine.catalog import fetch_models

    for path in fetch_models(args.names):
        print(printable(path))
    return 0


def _web(args: argparse.Namespace) -> int:
    from agentic_image_gen.frontends import web

    return web.run(args)


def _parser() -> _Parser:
    parser = _Parser(prog=PROG)
    commands = parser.add_subparsers(dest="command", required=True)
    runs = commands.add_parser("runs", help="list past runs, newest first")
    runs.add_argument("--out", type=Path, default=Path("runs"), help="where the runs are")
    runs.add_argument("--json", action="store_true", help="a JSON list instead of lines")
    runs.set_defaults(handler=_runs)
    show = commands.add_parser("show", help="print a run's JSON again")
    show.add_argument("run_dir", type=Path)
    show.set_defaults(handler=_show)
    schema = commands.add_parser("schema", help="the JSON Schema of a run's output")
    schema.set_defaults(handler=_schema)
    report = commands.add_parser("report", help="rebuild a run's report.html; print its path")
    report.add_argument("run_dir", type=Path)
    report.set_defaults(handler=_report)
    profiles = commands.add_parser("profiles", help="the marketplace profiles and their rules")
    profiles.add_argument("--json", action="store_true", help="a JSON list instead of text")
    profiles.set_defaults(handler=_profiles)
    providers = commands.add_parser(
        "providers", help="installed providers: roles, needs, options, usable now or not"
    )
    providers.add_argument("--json", action="store_true", help="a JSON list instead of text")
    providers.set_defaults(handler=_providers)
    models = commands.add_parser("models", help="segmentation models: fetch them ahead of time")
    actions = models.add_subparsers(dest="action", required=True)
    fetch = actions.add_parser("fetch", help="download and verify models (e.g. isnet, birefnet)")
    fetch.add_argument("names", nargs="+", metavar="NAME")
    fetch.add_argument("--json-errors", action="store_true", help=argparse.SUPPRESS)
    fetch.set_defaults(handler=_fetch)
    from agentic_image_gen.frontends import web

    serve = commands.add_parser("web", help="a local web app to start, watch and steer runs")
    web.add_arguments(serve)
    serve.set_defaults(handler=_web)
    for command in (runs, show, report, profiles, providers, schema):
        command.add_argument(
            "--json-errors",
            action="store_true",
            help='on failure, also print {"error": {...}} on stdout',
        )
    return parser


def run_command(argv: list[str]) -> int:
    """Run one subcommand; every failure is one line on stderr and its exit code."""
    json_errors = "--json-errors" in argv
    try:
        args = _parser().parse_args(argv)
        code: int = args.handler(args)
        return code
    except AigError as error:
        return print_error(PROG, error, json_errors)
    except Exception as bug:  # one line for users; the traceback on request
        if os.environ.get("AIG_DEBUG"):
            raise
        where = "(AIG_DEBUG=1 shows where)"
        internal = AigError(f"internal error: {type(bug).__name__}: {bug} {where}")
        return print_error(PROG, internal, json_errors)
