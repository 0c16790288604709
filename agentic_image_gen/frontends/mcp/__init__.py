"""``agentic-image-gen mcp``: the engine served to agents over MCP (stdio, or streamable HTTP
at /mcp). Importing this package is cheap: the MCP SDK loads only when the server starts."""

from __future__ import annotations

import argparse

from agentic_image_gen.frontends.mcp.options import add_arguments

__all__ = ["add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    """Serve until the client leaves (stdio) or the process is stopped (HTTP)."""
    from agentic_image_gen.frontends.mcp.command import serve_command

    return serve_command(args)
