"""The ``mcp`` subcommand's options (standard library only: building the parser stays cheap)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_PORT = 8000
TOKEN_VARIABLE = "AIG_MCP_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs"),
                        help="where its runs go and what list_runs lists (./runs)")
    parser.add_argument("--http", action="store_true",
                        help="serve streamable HTTP at /mcp instead of stdio")
    parser.add_argument("--host", default="127.0.0.1",
                        help=f"with --http: the address to bind (127.0.0.1); any other than "
                        f"loopback needs a token in {TOKEN_VARIABLE} and confines paths to --root")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"with --http: the port ({DEFAULT_PORT})")
    parser.add_argument("--root", type=Path,
                        help="with --http on a non-loopback host: the folder remote clients' "
                        "reference paths and out_dir must lie in (default: none allowed)")
    parser.add_argument("--allow-private-urls", action="store_true",
                        help="let reference URLs reach loopback and private-network hosts")
