"""``agentic-image-gen web``: a local web app to start, watch, steer and approve runs.

Light on purpose (argparse only): the CLI builds its parser from here; FastAPI and uvicorn
(the ``web`` extra) load only when the server starts (server.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_PORT = 8765
DEFAULT_MAX_RUNS = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--out", type=Path, default=Path("runs"),
                        help="the runs folder it shows and writes (default ./runs)")
    parser.add_argument("--max-runs", type=int, default=DEFAULT_MAX_RUNS,
                        help=f"runs at once; the rest wait in a queue (default {DEFAULT_MAX_RUNS})")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open a browser; only print the address")
    parser.add_argument("--allow-private-urls", action="store_true",
                        help="let runs fetch reference URLs on loopback and private networks")


def run(args: argparse.Namespace) -> int:
    from agentic_image_gen.frontends.web.server import serve

    return serve(args)
