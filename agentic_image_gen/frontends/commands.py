"""Subcommands that work on existing run folders: ``runs``, ``show`` and ``report``.

The run folder (its run.json) is the source of truth; nothing here keeps an index.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.engine.runs import JOURNAL_NAME, load_journal, run_output, write_report


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def _runs(args: argparse.Namespace) -> int:
    out_dir: Path = args.out
    rows: list[tuple[str, str, str, str, str]] = []
    damaged: list[str] = []
    folders = sorted(out_dir.iterdir()) if out_dir.is_dir() else []
    for folder in folders:
        if not (folder / JOURNAL_NAME).exists():
            continue
        try:
            journal = load_journal(folder)
        except InputError:
            damaged.append(str(folder))
            continue
        result = journal.result
        best = result.best()
        rows.append(
            (
                journal.created_at,
                "-" if best is None else str(best.score),
                str(len(result.iterations)),
                " ".join(result.original_prompt.split())[:60],
                str(folder.resolve()),
            )
        )
    rows.sort(reverse=True)
    if args.json:
        keys = ("created_at", "best_score", "iterations", "prompt", "run_dir")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))
    else:
        for row in rows:
            print("\t".join(row))
    for damaged_folder in damaged:
        print(f"warning: {damaged_folder}/{JOURNAL_NAME} is damaged; skipped", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    journal = load_journal(args.run_dir)
    print(json.dumps(run_output(args.run_dir, journal), indent=2, ensure_ascii=False))
    return 0


def _report(args: argparse.Namespace) -> int:
    print(write_report(args.run_dir))
    return 0


def _profiles(args: argparse.Namespace) -> int:
    from agentic_image_gen.frontends.profiles_command import list_profiles

    return list_profiles(args.json)


def _providers(args: argparse.Namespace) -> int:
    from agentic_image_gen.frontends.providers_command import list_providers

    return list_providers(args.json)


def run_command(argv: list[str]) -> int:
    parser = _Parser(prog="agentic-image-gen")
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
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code
