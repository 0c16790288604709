"""``agentic-image-gen batch CATALOG --out DIR [run flags...]``: a whole catalog under one
budget and one rate limit, resumable, with a catalog report. stdout carries one JSON summary;
the progress bar and errors go to stderr."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.frontends.batch.options import BatchOptions, options_from
from agentic_image_gen.frontends.batch.runner import LocalRunner, Runner

if TYPE_CHECKING:
    from agentic_image_gen.engine.limits import SharedLimiter

PROG = "agentic-image-gen batch"
EXIT_NOT_ALL_DONE = 10


async def main(args: argparse.Namespace) -> int:
    """Read the catalog, run what is left of it, write the catalog files, print the summary.
    ``args``: this command's flags, with ``run_flags`` the run flags left unparsed."""
    from agentic_image_gen.engine.limits import SharedLimiter
    from agentic_image_gen.frontends.batch.formats import BadRow, read_catalog
    from agentic_image_gen.frontends.batch.outputs import summary, write_all
    from agentic_image_gen.frontends.batch.progress import ProgressBar
    from agentic_image_gen.frontends.batch.schedule import Batch
    from agentic_image_gen.frontends.batch.state import Record, State
    from agentic_image_gen.frontends.json_output import print_json

    options = options_from(args, list(getattr(args, "run_flags", [])))
    _check_rates(options.rates)
    catalog = await asyncio.to_thread(read_catalog, options.catalog, options.fmt, options.template)
    for product in list(catalog.products):  # a prompt no run accepts is a bad row too
        try:
            options.config_for(product)
        except InputError as error:
            catalog.products.remove(product)
            catalog.bad_rows.append(BadRow(product.row, product.id, str(error)))
    catalog.bad_rows.sort(key=lambda bad: bad.row)
    stopped: list[int] = []
    with State(options.out) as state:
        state.add(Record(p.id, p.row, p.folder, p.title) for p in catalog.products)
        limiter = SharedLimiter(
            max_cost=options.max_cost, rates=options.rates, max_in_flight=options.max_in_flight
        )
        received = _stop_on_signals()
        batch = Batch(options, catalog, state)
        with ProgressBar(len(batch.jobs), enabled=not options.quiet) as bar:
            batch.progress = bar
            try:
                await batch.run(_runner(options, limiter))
            except asyncio.CancelledError:
                stopped.append(received[0] if received else signal.SIGINT)
        records = batch.in_order()
        written = write_all(options.out, catalog, records, options.max_cost, options.export)
    head = summary(catalog, records, options.max_cost)
    files: dict[str, Any] = {
        "out": str(state.out_dir),
        "state": str(state.out_dir / "catalog.sqlite"),
        "catalog_json": str(written.json),
        "catalog_csv": str(written.csv),
        "catalog_html": str(written.html),
    }
    if written.export is not None:
        files["export"] = str(written.export)
    print_json({**head, **files})
    if stopped:
        print(f"{PROG}: interrupted; run the same command again to go on", file=sys.stderr)
        return 128 + stopped[0]
    all_done = head["counts"]["done"] == head["counts"]["products"] and not catalog.bad_rows
    return 0 if all_done else EXIT_NOT_ALL_DONE


def _runner(options: BatchOptions, limiter: SharedLimiter) -> Runner:
    if options.engine == "ray":
        from agentic_image_gen.frontends.batch.ray_runner import RayRunner

        return RayRunner(
            address=options.ray_address,
            workers=options.concurrency,
            max_cost=options.max_cost,
            rates=options.rates,
            max_in_flight=options.max_in_flight,
        )
    return LocalRunner(limiter)


def _check_rates(rates: dict[str, float]) -> None:
    if not rates:
        return
    from agentic_image_gen.engine.installed import describe_providers

    known = {info.name for info in describe_providers(os.environ)}
    for name in rates:
        if name not in known:
            raise InputError(
                f"--rate {name}=...: {name!r} is not an installed provider "
                f"(known: {', '.join(sorted(known))})"
            )


def _stop_on_signals() -> list[int]:
    """SIGTERM and SIGHUP stop the batch as Ctrl-C does: every running product is journaled
    interrupted, the catalog files are written, and the next batch goes on."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        if task is not None:
            task.cancel()

    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop, signum)
    return received
