"""The run command's flags, and their translation into a RunConfig (and back, for errors).

Validation lives in the config model; this module only names things the way a user typed
them: a field's problem is reported under its flag.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from agentic_image_gen.core.config import (
    MAX_CANDIDATES,
    MAX_ITERATIONS_LIMIT,
    ProviderNames,
    RunConfig,
    problems,
)
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.types import Background, OutputFormat, Quality
from agentic_image_gen.core.version import __version__

PROG = "agentic-image-gen"
EXIT_CODES = """\
exit codes:
  0    success
  1    unexpected internal error
  2    invalid arguments or prompt
  3    a reference image is missing, unreadable, not an image, or its URL failed
  4    configuration or account: missing or rejected API key (401), no permission (403),
       no quota, a resumed run's segmenter that is not installed any more
  5    provider failure: an outage after the retries (5xx, 429, timeouts), an unusable or
       incomplete reply: try again later
  6    the run folder cannot be written
  7    the run folder is in use by another run (one writer per folder)
  8    content refused: a moderation block or a model's refusal (the message names the stage
       and the categories): change the prompt or the reference images
  9    budget: --max-cost cannot pay for one round, or a model has no price to keep it by
  130  interrupted (Ctrl-C); 143 on SIGTERM, 129 on SIGHUP (partial JSON printed)

subcommands: runs, show RUN_DIR, report RUN_DIR, schema, providers, profiles, models fetch NAME
"""
# Field of RunConfig -> the flag a user typed.
FLAGS = {
    "prompt": "",
    "refs": "--refs",
    "image.quality": "--quality",
    "image.size": "--size",
    "image.background": "--background",
    "image.output_format": "--format",
    "image": "",
    "max_iterations": "--max-iterations",
    "threshold": "--threshold",
    "patience": "--patience",
    "profile": "--profile",
    "segmenter": "--segmenter",
    "out_dir": "--out",
    "candidates": "--candidates",
    "max_concurrency": "--max-concurrency",
    "max_cost": "--max-cost",
    "prices_file": "--prices",
    "call_timeout": "--timeout",
    "retry_budget": "--retries",
    "allow_private_urls": "--allow-private-urls",
    "lock_product": "--lock-product",
    "review": "--review",
    "review_timeout": "--review-timeout",
    "providers.provider": "--provider",
    "providers.generator": "--generator",
    "providers.evaluator": "--evaluator",
    "providers.prompter": "--prompter",
}
# Field names inside a message that spans fields (e.g. a format that cannot be transparent).
_WORDS = re.compile(r"\b(output_format|background|lock_product|refs|review_timeout)\b")
_WORD_FLAGS = {
    "output_format": "--format",
    "background": "--background",
    "lock_product": "--lock-product",
    "refs": "--refs",
    "review_timeout": "--review-timeout",
}
# Flags that set an option of whichever chosen provider declares it (e.g. OpenAI's models).
MODEL_FLAGS = {
    "model": "mainline model driving generation (AIG_MODEL)",
    "image_model": "image model (AIG_IMAGE_MODEL)",
    "evaluator_model": "vision model that scores (AIG_EVALUATOR_MODEL)",
    "prompter_model": "model that rewrites the prompt (AIG_PROMPTER_MODEL)",
}
# Run settings with their defaults; None in the parsed flags means "not given".
DEFAULTS: dict[str, Any] = {
    "quality": "high",
    "size": "1024x1024",
    "background": "transparent",
    "output_format": "png",
    "max_iterations": 3,
    "threshold": 85,
    "patience": 3,
    "candidates": 1,
    "max_concurrency": 4,
    "timeout": 600.0,
    "retries": 8,
}


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line (InputError) instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Generate an image, score it, refine the prompt, repeat; print the best.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("prompt", nargs="?", help="what the image should show")
    add("--refs", nargs="+", default=[], metavar="PATH_OR_URL",
        help="reference images: local paths or http(s) URLs")
    add("--quality", choices=[q.value for q in Quality], help="default high")
    add("--size", help="auto, 1024x1024, 1024x1536, 1536x1024, or WIDTHxHEIGHT (multiples of "
        "16, aspect 1:3 to 3:1, at most 3840x2160); default 1024x1024")
    add("--background", choices=[b.value for b in Background],
        help="default transparent (shop-ready cut-outs)")
    add("--format", dest="output_format", choices=[f.value for f in OutputFormat],
        help="default png")
    add("--segmenter", metavar="NAME", help="what cuts the product out of the reference: auto "
        "(default; or AIG_SEGMENTER), u2netp, isnet, birefnet, classical (agentic-image-gen "
        "models fetch NAME downloads a model ahead of time)")
    add("--lock-product", action="store_true",
        help="keep the reference's own product pixels: a generator paints only the scene, "
        "and the product is composited back exactly after every image")
    add("--profile", metavar="NAME", help="a marketplace's rules: they join the brief, and the "
        "best image is delivered as a file that passes them (agentic-image-gen profiles)")
    add("--max-iterations", type=int,
        help=f"rounds, 1-{MAX_ITERATIONS_LIMIT} (default 3; may be raised on --resume)")
    add("--threshold", type=int, help="stop at this score, 0-100 (default 85)")
    add("--patience", type=int, help="stop after this many rounds in a row without a better "
        "score (default 3; 0: never); a round that would repeat an earlier prompt stops too")
    add("--resume", type=Path, metavar="RUN_DIR",
        help="continue a stopped run from its folder, with its settings (only limits may "
        "change: --max-iterations, --threshold, --max-cost, --timeout, --retries, --prices)")
    add("--out", type=Path, help="parent of the run folders (./runs)")
    speed = parser.add_argument_group("candidates, concurrency and cost")
    speed.add_argument("--candidates", type=int,
                       help=f"images per round, made and scored concurrently; the best one "
                       f"continues (1-{MAX_CANDIDATES}, default 1)")
    speed.add_argument("--max-concurrency", type=int,
                       help="provider calls in flight at once (default 4)")
    speed.add_argument("--max-cost", "--budget", dest="max_cost", type=float, metavar="USD",
                       help="stop before a round that would take the estimated spend past this")
    speed.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="deadline of one provider call, retries included (default 600)")
    speed.add_argument("--retries", type=int,
                       help="transient faults retried per run, in all (default 8)")
    speed.add_argument("--prices", type=Path, metavar="FILE",
                       help="JSON price table merged over the providers' own")
    roles = parser.add_argument_group(
        "providers (installed ones, their roles and needs: agentic-image-gen providers)"
    )
    roles.add_argument("--provider", default="auto",
                       help="a provider set: auto (default: openai when OPENAI_API_KEY is set, "
                       "else local, offline), or any installed provider's name")
    roles.add_argument("--generator", help="override the generator (a component name)")
    roles.add_argument("--evaluator", help="override the evaluator (a component name)")
    roles.add_argument("--prompter", help="override the prompter (a component name)")
    roles.add_argument("--option", "-o", action="append", default=[], metavar="PROVIDER.KEY=VALUE",
                       help="a provider option, e.g. openai.api_key_env=MY_KEY (repeatable)")
    roles.add_argument("--no-store", action="store_true",
                       help="an account that stores nothing (zero data retention): same as "
                       "-o openai.store=false")
    roles.add_argument("--keep-files", action="store_true",
                       help="keep the reference images uploaded to OpenAI's Files API after "
                       "the run: same as -o openai.keep_files=true")
    models = parser.add_argument_group("models (flags win over AIG_* environment variables)")
    for key, text in MODEL_FLAGS.items():
        models.add_argument("--" + key.replace("_", "-"), dest=key, help=text)
    add("--allow-private-urls", action="store_true",
        help="let --refs URLs reach loopback and private-network hosts (intranet use)")
    output = parser.add_argument_group("output")
    output.add_argument("--upload", metavar="s3://BUCKET/PREFIX/",
                        help="upload the best image to an S3-compatible store (AWS_* settings)")
    output.add_argument("--public", action="store_true",
                        help="give the plain object URL instead of a presigned one")
    output.add_argument("--upload-report", action="store_true",
                        help="also upload report.html (images embedded)")
    person = parser.add_argument_group("a person in the loop")
    person.add_argument("--review", choices=["never", "rounds", "final"],
                        help="wait for you at the terminal after every round (pick, notes, a "
                        "new prompt, accept) and at the end, or only at the end (default never)")
    person.add_argument("--review-timeout", type=float, metavar="SECONDS",
                        help="after this long without an answer the evaluator's choice goes on "
                        "(default: wait)")
    add("--quiet", action="store_true", help="no progress on stderr")
    add("--json-errors", action="store_true",
        help='when failing before a run starts, also print {"error": {...}} on stdout')
    add("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _given(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name)
    return DEFAULTS.get(name) if value is None else value


def provider_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``--option openai.key=value`` by provider; the model flags under ``*`` (every chosen
    provider that has such an option takes it)."""
    options: dict[str, dict[str, Any]] = {}
    for item in args.option:
        target, sep, value = item.partition("=")
        provider, dot, key = target.partition(".")
        if not (sep and dot and provider and key):
            raise InputError(f"--option {item!r} is not PROVIDER.KEY=VALUE")
        options.setdefault(provider, {})[key] = value
    # Shortcuts for the OpenAI provider's options; an explicit --option wins.
    if getattr(args, "no_store", False):
        options.setdefault("openai", {}).setdefault("store", False)
    if getattr(args, "keep_files", False):
        options.setdefault("openai", {}).setdefault("keep_files", True)
    shared = {key: getattr(args, key) for key in MODEL_FLAGS if getattr(args, key) is not None}
    if shared:
        options["*"] = shared
    return options


def config_from(args: argparse.Namespace) -> RunConfig:
    if args.prompt is None:
        raise InputError("the following arguments are required: prompt (or --resume RUN_DIR)")
    options = provider_options(args)
    return validated(
        lambda: RunConfig.model_validate(
            {
                "prompt": args.prompt,
                "refs": tuple(args.refs),
                "image": {  # validated with the rest: every problem is reported at once
                    "quality": _given(args, "quality"),
                    "size": _given(args, "size"),
                    "background": _given(args, "background"),
                    "output_format": _given(args, "output_format"),
                },
                "allow_private_urls": args.allow_private_urls,
                "candidates": _given(args, "candidates"),
                "max_concurrency": _given(args, "max_concurrency"),
                "max_cost": args.max_cost,
                "prices_file": args.prices,
                "call_timeout": _given(args, "timeout"),
                "retry_budget": _given(args, "retries"),
                "max_iterations": _given(args, "max_iterations"),
                "threshold": _given(args, "threshold"),
                "patience": _given(args, "patience"),
                "profile": args.profile,
                "segmenter": args.segmenter,
                "lock_product": args.lock_product,
                "review": args.review or "never",
                "review_timeout": args.review_timeout,
                "out_dir": args.out or Path("runs"),
                "providers": ProviderNames(
                    provider=args.provider,
                    generator=args.generator,
                    evaluator=args.evaluator,
                    prompter=args.prompter,
                ),
                "provider_options": options,
            }
        )
    )


# Flags a resume may change, as Session.resume's keyword (a RunConfig field) per flag dest.
RESUMABLE_FLAGS = {
    "max_iterations": "max_iterations",
    "threshold": "threshold",
    "max_cost": "max_cost",
    "timeout": "call_timeout",
    "retries": "retry_budget",
    "prices": "prices_file",
    "patience": "patience",
}
# Flags that only steer this process (not the run's settings): fine on a resume.
_PROCESS_FLAGS = {"resume", "quiet", "json_errors", "upload", "public", "upload_report"}


def resume_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The limits a resume changes; any flag that would change what the run makes is refused,
    named, instead of being silently ignored."""
    defaults = build_parser().parse_args([])
    for name, value in vars(args).items():
        if name in RESUMABLE_FLAGS or name in _PROCESS_FLAGS:
            continue
        if value != getattr(defaults, name):
            flag = "--" + {"output_format": "format"}.get(name, name).replace("_", "-")
            raise InputError(
                f"{flag} cannot change on --resume: the run keeps its own settings (only "
                "--max-iterations, --threshold, --patience, --max-cost, --timeout, --retries "
                "and --prices may be given)"
            )
    overrides = {
        field: getattr(args, name)
        for name, field in RESUMABLE_FLAGS.items()
        if getattr(args, name) is not None
    }
    return overrides


def validated(make: Callable[[], RunConfig]) -> RunConfig:
    """Build a config; every problem at once, each under the flag a user typed."""
    try:
        return make()
    except ValidationError as exc:
        raise InputError(flag_message(exc)) from exc


def flag_message(error: ValidationError) -> str:
    parts = []
    for field, message in problems(error):
        flag = FLAGS.get(field, field)
        message = _WORDS.sub(lambda word: _WORD_FLAGS[word.group(1)], message)
        parts.append(f"{flag} {message}" if flag else message)
    return "; ".join(parts)
