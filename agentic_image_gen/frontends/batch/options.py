"""The batch command's flags. Its own (the catalog, ``--out``, concurrency, rates, ...) are
parsed first; everything left is a run's flags, parsed by the run command's own parser and
applied to every product, so each flag is defined (and checked) in one place."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from agentic_image_gen.core.config import RunConfig
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.frontends.arguments import Parser, add_run_arguments, config_from
from agentic_image_gen.frontends.batch.formats import FORMATS, Format, Product

DEFAULT_CONCURRENCY = 4
_PER = {"s": 60.0, "sec": 60.0, "second": 60.0, "min": 1.0, "m": 1.0, "minute": 1.0,
        "h": 1 / 60, "hour": 1 / 60}
_RATE = re.compile(r"^([A-Za-z0-9_.-]+)=(\d+(?:\.\d+)?)(?:/([a-z]+))?$")
EPILOG = """\
Every flag of a run (agentic-image-gen --help) applies to every product: --provider,
--profile, --lock-product, --candidates, --max-iterations, --quality, ... Except:
  --max-cost USD         the budget of the whole catalog (every round reserves from it)
  --max-concurrency N    provider calls in flight across the whole batch
  --upload s3://...      each product's delivery, under PREFIX/<product>/
A prompt, --refs and --resume come from the catalog and the state; --review is refused.

exit codes: 0 every product done; 10 some failed, are pending, or rows were skipped (the
JSON on stdout says which); 2 a bad flag or catalog; 7 another batch uses DIR.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("catalog", type=Path, metavar="CATALOG",
        help="a CSV: simple (sku, prompt or title, image), a Shopify product export "
        "(Handle, Image Src, ...) or a Google Merchant feed (id, title, image_link, ...)")
    add("--out", type=Path, required=True, metavar="DIR",
        help="the batch's folder: a run folder per product under DIR/<product id>/, the "
        "state (catalog.sqlite) and catalog.json, .csv and .html")
    add("--catalog-format", choices=FORMATS, help="the CSV's shape (default: from its header)")
    add("--prompt-template", metavar="TEMPLATE",
        help='the prompt from the columns, e.g. "{title}, {material}, white seamless '
        'background" (default: the prompt column, else the title)')
    add("--concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="N",
        help=f"products at once (default {DEFAULT_CONCURRENCY})")
    add("--rate", action="append", default=[], metavar="PROVIDER=N/min",
        help="requests per minute to a provider across the batch, e.g. openai=60/min "
        "(repeatable; /s and /h too)")
    add("--retry-failed", action="store_true", help="run failed products again")
    add("--engine", choices=["local", "ray"], default="local",
        help="where products' loops run: here (local, default) or on a Ray cluster (needs "
        "the ray extra)")
    add("--ray-address", metavar="auto|HOST:PORT|ray://HOST:10001",
        help="a running Ray cluster to attach to (default: a local one, started and stopped "
        "for the batch)")
    add("--export", choices=["shopify"],
        help="also write a CSV a shop imports to attach the new images (needs --upload)")


@dataclass(frozen=True)
class BatchOptions:
    catalog: Path
    out: Path
    fmt: Format | None
    template: str | None
    concurrency: int
    rates: dict[str, float]
    retry_failed: bool
    export: str | None
    engine: str
    ray_address: str | None
    max_cost: float | None
    max_in_flight: int | None
    upload: str | None
    public: bool
    quiet: bool
    run_args: argparse.Namespace  # the run flags, for each product's config

    def config_for(self, product: Product) -> RunConfig:
        """The product's run: every run flag, its prompt and images, its own folder; no
        budget of its own (the catalog's is shared)."""
        args = argparse.Namespace(**vars(self.run_args))
        args.prompt, args.refs = product.prompt, list(product.images)
        args.out_dir, args.max_cost = self.out / product.folder, None
        return config_from(args)


def options_from(args: argparse.Namespace, run_flags: list[str]) -> BatchOptions:
    """The batch's options, every run flag checked once before any product runs."""
    run_args = _run_parser().parse_args(run_flags)
    refused = [
        flag
        for flag, given in (
            ("a prompt", run_args.prompt is not None),
            ("--refs", bool(run_args.refs)),
            ("--resume", run_args.resume is not None),
        )
        if given
    ]
    if refused:
        raise InputError(
            f"batch takes prompts and images from the catalog and resumes from its state: "
            f"{', '.join(refused)} cannot be given"
        )
    if run_args.review not in (None, "never"):
        raise InputError("--review is refused here: a batch has no one at the terminal to ask")
    if args.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    if args.ray_address and args.engine != "ray":
        raise InputError("--ray-address needs --engine ray")
    if args.export and not run_args.upload:
        raise InputError("--export shopify needs --upload: Shopify imports images by public URL")
    options = BatchOptions(
        catalog=args.catalog,
        out=args.out,
        fmt=args.catalog_format,
        template=args.prompt_template,
        concurrency=args.concurrency,
        rates=dict(parse_rate(item) for item in args.rate),
        retry_failed=args.retry_failed,
        export=args.export,
        engine=args.engine,
        ray_address=args.ray_address,
        max_cost=run_args.max_cost,
        max_in_flight=run_args.max_concurrency,
        upload=run_args.upload,
        public=run_args.public,
        quiet=run_args.quiet,
        run_args=run_args,
    )
    if options.max_cost is not None and not options.max_cost > 0:
        raise InputError("--max-cost must be a positive amount of US dollars")
    # Flags that no product can satisfy fail here, once, rather than on every row.
    options.config_for(Product("check", 2, "check", "check", "", ("check.png",)))
    return options


def _run_parser() -> argparse.ArgumentParser:
    """The run command's own flags (one definition), for what the batch passes on."""
    parser = Parser(prog="agentic-image-gen batch", add_help=False)
    add_run_arguments(parser)
    return parser


def parse_rate(text: str) -> tuple[str, float]:
    """``openai=60/min`` -> ("openai", 60.0) requests per minute."""
    match = _RATE.match(text.strip())
    per = _PER.get(match[3] or "min") if match else None
    if match is None or per is None or not float(match[2]) > 0:
        raise InputError(f"--rate {text!r} is not PROVIDER=N/min (or N/s, N/h), N above 0")
    return match[1], float(match[2]) * per
