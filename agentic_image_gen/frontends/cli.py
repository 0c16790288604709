"""Command line: parse, run, print one JSON object on stdout, map errors to exit codes."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from agentic_image_gen import __version__
from agentic_image_gen.core.config import (
    MAX_ITERATIONS_LIMIT,
    PROVIDER_CHOICES,
    RunConfig,
    choose_providers,
    image_settings,
    models_from,
    secrets_from,
)
from agentic_image_gen.core.errors import EXIT_INTERRUPTED, AigError, InputError, RunFailed
from agentic_image_gen.core.types import Background, OutputFormat, Quality, RunResult
from agentic_image_gen.frontends.error_output import error_json
from agentic_image_gen.store.run_store import RunStore

PROG = "agentic-image-gen"
EXIT_CODES = """\
exit codes:
  0    success
  1    unexpected internal error
  2    invalid arguments or prompt
  3    a reference image is missing, unreadable, not an image, or its URL failed
  4    configuration: missing or rejected API key, unknown provider
  5    provider failure: API error, refusal, unusable reply
  6    the run folder cannot be written
  7    the run folder is in use by another run (one writer per folder)
  130  interrupted (Ctrl-C)
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line (InputError) instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Generate an image, score it, refine the prompt, repeat; print the best.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("prompt", nargs="?", help="what the image should show")
    parser.add_argument(
        "--refs",
        nargs="+",
        default=[],
        metavar="PATH_OR_URL",
        help="reference images: local paths or http(s) URLs",
    )
    parser.add_argument(
        "--quality", choices=[q.value for q in Quality], default="high", help="default high"
    )
    parser.add_argument(
        "--size",
        default="1024x1024",
        help="auto, 1024x1024, 1024x1536, 1536x1024, or WIDTHxHEIGHT (multiples of 16, "
        "aspect 1:3 to 3:1, at most 3840x2160); default 1024x1024",
    )
    parser.add_argument(
        "--background",
        choices=[b.value for b in Background],
        default="transparent",
        help="default transparent (shop-ready cut-outs)",
    )
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=[f.value for f in OutputFormat],
        default="png",
        help="default png",
    )
    parser.add_argument(
        "--max-iterations", type=int, help=f"iteration cap, 1-{MAX_ITERATIONS_LIMIT} (default 3)"
    )
    parser.add_argument("--threshold", type=int, help="stop at this score, 0-100 (default 85)")
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue a stopped run from its folder, with its settings (--max-iterations "
        "and --threshold may be changed)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs"), help="parent of the run folders (./runs)"
    )
    speed = parser.add_argument_group("candidates, concurrency and cost")
    speed.add_argument(
        "--candidates",
        type=int,
        default=1,
        help="images per round, made and scored concurrently; the best one continues (1-8)",
    )
    speed.add_argument(
        "--max-concurrency",
        type=int,
        default=4,
        help="provider calls in flight at once, to stay within rate limits (default 4)",
    )
    speed.add_argument(
        "--max-cost",
        "--budget",
        dest="max_cost",
        type=float,
        metavar="USD",
        help="stop before a round that would take the estimated spend past this",
    )
    speed.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="deadline of one provider call, retries included (default 600)",
    )
    speed.add_argument(
        "--retries",
        type=int,
        default=8,
        help="transient faults retried per run, in all (default 8)",
    )
    speed.add_argument(
        "--prices", type=Path, metavar="FILE", help="JSON price table merged over the built-in one"
    )
    models = parser.add_argument_group("models (flags win over AIG_* environment variables)")
    models.add_argument("--model", help="mainline model driving generation (AIG_MODEL)")
    models.add_argument("--image-model", help="image model of the tool (AIG_IMAGE_MODEL)")
    models.add_argument("--evaluator-model", help="vision model that scores (AIG_EVALUATOR_MODEL)")
    models.add_argument("--prompter-model", help="model that rewrites (AIG_PROMPTER_MODEL)")
    roles = parser.add_argument_group("providers")
    roles.add_argument(
        "--provider",
        choices=PROVIDER_CHOICES,
        default="auto",
        help="auto (default): openai when OPENAI_API_KEY is set, else local (offline)",
    )
    roles.add_argument("--generator", help="override the generator: openai, studio")
    roles.add_argument("--evaluator", help="override the evaluator: checklist, rubric, technical")
    roles.add_argument("--prompter", help="override the prompter: openai, rules")
    parser.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="let --refs URLs reach loopback and private-network hosts (intranet use)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--upload",
        metavar="s3://BUCKET/PREFIX/",
        help="upload the best image to an S3-compatible store (AWS_* environment/config)",
    )
    output.add_argument(
        "--public",
        action="store_true",
        help="give the plain object URL instead of a presigned one (bucket must allow reads)",
    )
    output.add_argument(
        "--upload-report", action="store_true", help="also upload report.html (images embedded)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--json-errors",
        action="store_true",
        help='when failing before a run starts, also print {"error": {...}} on stdout',
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def config_from(args: argparse.Namespace) -> RunConfig:
    if args.prompt is None:
        raise InputError("the following arguments are required: prompt (or --resume RUN_DIR)")
    api_key, base_url = secrets_from(os.environ)
    return RunConfig(
        prompt=args.prompt,
        refs=tuple(args.refs),
        image=image_settings(args.quality, args.size, args.background, args.output_format),
        allow_private_urls=args.allow_private_urls,
        candidates=args.candidates,
        max_concurrency=args.max_concurrency,
        max_cost=args.max_cost,
        prices_file=args.prices,
        call_timeout=args.timeout,
        retry_budget=args.retries,
        max_iterations=3 if args.max_iterations is None else args.max_iterations,
        threshold=85 if args.threshold is None else args.threshold,
        out_dir=args.out,
        models=models_from(
            os.environ, args.model, args.image_model, args.evaluator_model, args.prompter_model
        ),
        providers=choose_providers(
            args.provider, api_key is not None, args.generator, args.evaluator, args.prompter
        ),
        api_key=api_key,
        base_url=base_url,
    )


def resumed_config(args: argparse.Namespace, store: RunStore) -> RunConfig:
    """The stopped run's own settings, with today's key and endpoint and any raised limits."""
    api_key, base_url = secrets_from(os.environ)
    stored = dict(store.journal.config)
    stored.update(api_key=api_key, base_url=base_url)
    if args.max_iterations is not None:
        stored["max_iterations"] = args.max_iterations
    if args.threshold is not None:
        stored["threshold"] = args.threshold
    try:
        return RunConfig.model_validate(stored)
    except ValidationError as exc:
        raise InputError(f"{store.run_dir}/run.json has unusable settings") from exc


async def _run(args: argparse.Namespace) -> RunResult:
    """Build the providers the config names, run the loop, close what they opened."""
    # Imported here so that --help and argument errors never pay for the SDKs.
    from agentic_image_gen.core.retry import RetryPolicy
    from agentic_image_gen.core.usage import UsageLedger, load_prices
    from agentic_image_gen.engine.loop import run_image_generation_loop
    from agentic_image_gen.frontends.progress import make_progress
    from agentic_image_gen.providers.base import ProviderContext, build_providers

    store = None
    if args.resume is not None:
        if args.prompt is not None:
            raise InputError("give either a prompt or --resume RUN_DIR, not both")
        store = RunStore.open(args.resume)
        config = resumed_config(args, store)
    else:
        config = config_from(args)
    async with AsyncExitStack() as stack:
        context = ProviderContext(
            config=config,
            exit_stack=stack,
            retry_policy=RetryPolicy(budget=config.retry_budget, call_deadline=config.call_timeout),
            ledger=UsageLedger(load_prices(config.prices_file)),
        )
        if store is not None:
            context.conversation_id = store.journal.result.thread_id
        providers = await build_providers(context, config.providers)
        progress = make_progress(config.max_iterations, args.quiet)
        return await run_image_generation_loop(config, providers, progress, store=store)


def _print_json(output: dict[str, Any]) -> None:
    from agentic_image_gen.frontends.json_output import print_json  # issue 16: lone surrogates

    print_json(output)


def _published(
    result: RunResult, args: argparse.Namespace
) -> tuple[dict[str, Any], AigError | None]:
    from agentic_image_gen.store.publish import publish

    upload = args.upload if result.stop_reason not in ("error", "interrupted") else None
    return asyncio.run(
        publish(result, upload=upload, public=args.public, upload_report=args.upload_report)
    )


def _fail(error: AigError, json_errors: bool = False) -> int:
    print(f"{PROG}: error: {error}", file=sys.stderr, flush=True)
    if json_errors:
        print(error_json(error), flush=True)
    return error.exit_code


# Subcommands that work on run folders; anything else is a prompt for a new run.
COMMANDS = ("runs", "show", "report")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in COMMANDS:
        from agentic_image_gen.frontends.commands import run_command

        try:
            return run_command(arguments)
        except AigError as error:
            return _fail(error)
    if arguments and arguments[0] == "run":
        arguments = arguments[1:]
    try:
        args = build_parser().parse_args(arguments)
        result = asyncio.run(_run(args))
    except RunFailed as failure:
        _print_json(_published(failure.partial, args)[0])
        return _fail(failure)
    except AigError as error:
        # Read from the raw arguments so that argparse's own errors get the JSON form too.
        return _fail(error, json_errors="--json-errors" in arguments)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except Exception as bug:  # one line for users; the traceback on request
        if os.environ.get("AIG_DEBUG"):
            raise
        return _fail(
            AigError(f"internal error: {type(bug).__name__}: {bug} (AIG_DEBUG=1 shows where)")
        )
    output, upload_error = _published(result, args)
    _print_json(output)
    return _fail(upload_error) if upload_error else 0
