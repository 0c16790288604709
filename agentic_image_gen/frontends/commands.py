"""Subcommands that work on existing run folders: ``runs``, ``show`` and ``report``.

The run folder (its run.json) is the source of truth; nothing here keeps an index. A journal
is a file anyone can edit or damage, so these commands never trace back: whatever they meet
is one error line and a non-zero exit (``runs`` skips a bad folder with a warning and lists
the rest), and text from a journal reaches a terminal only with its control characters escaped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from agentic_image_gen.core.errors import AigError, InputError
from agentic_image_gen.engine.runs import JOURNAL_NAME, load_journal, run_output, write_report
from agentic_image_gen.frontends.error_output import print_error, printable
from agentic_image_gen.frontends.json_output import print_json

PROG = "agentic-image-gen"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def _run_folders(out_dir: Path) -> list[Path]:
    if not out_dir.exists():
        return []  # no runs yet
    if not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is not a folder of runs")
    try:
        return sorted(folder for folder in out_dir.iterdir() if (folder / JOURNAL_NAME).exists())
    except OSError as exc:
        raise InputError(f"--out {out_dir} cannot be listed: {exc.strerror or exc}") from exc


def _runs(args: argparse.Namespace) -> int:
    rows: list[tuple[str, str, str, str, str]] = []
    skipped: list[str] = []
    for folder in _run_folders(args.out):
        try:
            journal = load_journal(folder)
        except InputError as error:
            skipped.append(str(error))
            continue
        result = journal.result
        best = result.best()
        rows.append(
            (
                journal.created_at,
                "-" if best is None else str(best.score),
                str(len(result.iterations)),
                " ".join(result.original_prompt.split())[:60],
                result.run_dir,
            )
        )
    rows.sort(reverse=True)
    if args.json:
        keys = ("created_at", "best_score", "iterations", "prompt", "run_dir")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))
    else:
        for row in rows:
            print("\t".join(printable(cell) for cell in row))
    for reason in skipped:
        print(f"warning: {printable(reason)}; skipped", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    journal = load_journal(args.run_dir)
    print_json(run_output(args.run_dir, journal))
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
    for command in (runs, show, report, profiles, providers):
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
