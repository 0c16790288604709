"""The command line's one parser: the run and every subcommand of frontends/commands.py.

``agentic-image-gen PROMPT ...`` is ``agentic-image-gen run PROMPT ...``: a command line that
names no subcommand is a run. A bad flag is one line (InputError), never usage and exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from agentic_image_gen.frontends.arguments import Parser
from agentic_image_gen.frontends.commands import COMMANDS
from agentic_image_gen.frontends.error_output import PROG


def build_parser() -> Parser:
    parser = Parser(prog=PROG)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        # The run's usage is the program's own: naming "run" is optional.
        prog = PROG if command.name == "run" else f"{PROG} {command.name}"
        sub = commands.add_parser(
            command.name,
            prog=prog,
            help=command.help,
            # A run flag passed on must never be read as an abbreviation of the command's own.
            allow_abbrev=not command.takes_run_flags,
        )
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
    arguments = list(argv)
    if not arguments or arguments[0] not in {command.name for command in COMMANDS}:
        arguments.insert(0, "run")
    parser = build_parser()
    args, unknown = parser.parse_known_args(arguments)
    if unknown and not args.spec.takes_run_flags:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.run_flags = unknown
    return args
