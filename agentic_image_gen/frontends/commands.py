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
import json
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


def _run_folders(out_dir: Path) -> list[Path]:
    from agentic_image_gen.engine.runs import JOURNAL_NAME

    if not out_dir.exists():
        return []  # no runs yet
    if not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is not a folder of runs")
    try:
        return sorted(folder for folder in out_dir.iterdir() if (folder / JOURNAL_NAME).exists())
    except OSError as exc:
        raise InputError(f"--out {out_dir} cannot be listed: {exc.strerror or exc}") from exc


def _runs(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.engine.runs import load_journal

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


def _show(args: argparse.Namespace, context: Context) -> int:
    from agentic_image_gen.engine.runs import load_journal, run_output

    journal = load_journal(args.run_dir)
    context.print_json(run_output(args.run_dir, journal))
    return 0


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
    from agentic_image_gen.engine.catalog import fetch_models

    for path in fetch_models(args.names):
        print(printable(path))
    return 0


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
    Command("report", "rebuild a run's report.html; print its path", _run_dir, _report),
    Command("profiles", "the marketplace profiles and their rules", _as_json, _profiles),
    Command(
        "providers",
        "installed providers: roles, needs, options, usable now or not",
        _as_json,
        _providers,
    ),
    Command("models", "segmentation models: 'fetch NAME' gets one ahead of time", _fetch, _models),
)
