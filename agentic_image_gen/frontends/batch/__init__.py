"""The catalog batch: a shop's catalog (CSV) as one run per product, under one budget and one
rate limit, resumable, with a catalog report. ``command.run(argv)`` is the CLI's ``batch``;
``add_arguments(parser)`` and ``main(args)`` are its parts for a front end's own parser."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agentic_image_gen.frontends.batch.options import add_arguments as add

    add(parser)


async def main(args: argparse.Namespace) -> int:
    from agentic_image_gen.frontends.batch.command import main as batch_main

    return await batch_main(args)
