"""The run command's flags, and their translation into a RunConfig (and back, for errors).

Validation lives in the config model; this module only names things the way a user typed
them: a field's problem is reported under its flag.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError

from agentic_image_gen.core.config import (
    MAX_CANDIDATES,
    MAX_ITERATIONS_LIMIT,
    RESUMABLE,
    ProviderNames,
    RunConfig,
    problems,
)
from agentic_image_gen.core.errors import InputError
from agentic_image_gen.core.types import Background, ImageSettings, OutputFormat, Quality
from agentic_image_gen.core.version import __version__

EXIT_CODES = """\
exit codes:
  0    success
  1    unexpected internal error
  2    invalid arguments or prompt
  3    a reference image is missing, unreadable, not an image, or its URL failed, or it
       shows no product the run can use
  4    configuration or account: missing or rejected API key (401), no permission (403),
       no quota, a model the API does not know, a resumed run's segmenter not installed
  5    provider failure: an outage after the retries (5xx, 429, timeouts), an unusable or
       incomplete reply: try again later
  6    the run folder cannot be written, or a file of it is missing or damaged
  7    the run folder is in use by another run (one writer per folder)
  8    content refused: a moderation block or a model's refusal (the message names the stage
       and the categories): change the prompt or the reference images
  9    budget: --max-cost cannot pay for one round, or a model has no price to keep it by
  11   delivered, not compliant: the --profile file fails a rule (stderr names it)
  130  interrupted (Ctrl-C); 143 on SIGTERM, 129 on SIGHUP (partial JSON printed)
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
# Field names inside a message that spans fields (a format that cannot be transparent).
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
# RunConfig fields set by a flag of their own (the parsed flags carry the field's name).
_OWN_FLAGS = [f for f, flag in FLAGS.items() if flag and "." not in f and f != "refs"]
# The flags a resume may change, in the order the help lists them (RESUMABLE's fields).
RESUMABLE_FLAGS = [flag for field, flag in FLAGS.items() if field in RESUMABLE]
RESUMABLE_TEXT = ", ".join(RESUMABLE_FLAGS[:-1]) + " and " + RESUMABLE_FLAGS[-1]


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line (InputError) instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def default(field: str) -> Any:
    """RunConfig's default for a field (``image.quality`` for an image setting), as typed."""
    model: type[BaseModel] = RunConfig
    if field.startswith("image."):
        model, field = ImageSettings, field.removeprefix("image.")
    value = model.model_fields[field].default
    return value.value if isinstance(value, Enum) else value


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The run's flags, description and exit codes on ``parser``."""
    parser.description = "Generate an image, score it, refine the prompt, repeat; print the best."
    parser.epilog = EXIT_CODES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("prompt", nargs="?", help="what the image should show")
    add("--refs", nargs="+", default=[], metavar="PATH_OR_URL",
        help="reference images: local paths or http(s) URLs")
    add("--quality", choices=[q.value for q in Quality], help=f"default {default('image.quality')}")
    add("--size", help="auto, 1024x1024, 1024x1536, 1536x1024, or WIDTHxHEIGHT (multiples of "
        f"16, aspect 1:3 to 3:1, at most 3840x2160); default {default('image.size')}")
    add("--background", choices=[b.value for b in Background],
        help=f"default {default('image.background')} (shop-ready cut-outs)")
    add("--format", dest="output_format", choices=[f.value for f in OutputFormat],
        help=f"default {default('image.output_format')}")
    add("--segmenter", metavar="NAME", help="what cuts the product out of the reference: auto "
        "(default; or AIG_SEGMENTER), u2netp, isnet, birefnet, classical (agentic-image-gen "
        "models fetch NAME downloads a model ahead of time)")
    add("--lock-product", action="store_true",
        help="keep the reference's own product pixels: a generator paints only the scene, "
        "and the product is composited back exactly after every image")
    add("--profile", metavar="NAME", help="a marketplace's rules: they join the brief, and the "
        "best image is delivered as a file that passes them (agentic-image-gen profiles)")
    add("--max-iterations", type=int, help=f"rounds, 1-{MAX_ITERATIONS_LIMIT} (default "
        f"{default('max_iterations')}; may be raised on --resume)")
    add("--threshold", type=int, help=f"stop at this score, 0-100 (default {default('threshold')})")
    add("--patience", type=int, help="stop after this many rounds in a row without a better "
        f"score (default {default('patience')}; 0: never); a round that would repeat an earlier "
        "prompt stops too")
    add("--resume", type=Path, metavar="RUN_DIR",
        help="continue a stopped run from its folder, with its settings (only limits may "
        f"change: {RESUMABLE_TEXT})")
    add("--out", dest="out_dir", type=Path, metavar="DIR",
        help=f"parent of the run folders (./{default('out_dir')})")
    speed = parser.add_argument_group("candidates, concurrency and cost")
    speed.add_argument("--candidates", type=int,
                       help=f"images per round, made and scored concurrently; the best one "
                       f"continues (1-{MAX_CANDIDATES}, default {default('candidates')})")
    speed.add_argument("--max-concurrency", type=int, help="provider calls in flight at once "
                       f"(default {default('max_concurrency')})")
    speed.add_argument("--max-cost", "--budget", dest="max_cost", type=float, metavar="USD",
                       help="stop before a round that would take the estimated spend past this")
    speed.add_argument("--timeout", dest="call_timeout", type=float, metavar="SECONDS",
                       help="deadline of one provider call, retries included (default "
                       f"{default('call_timeout'):g})")
    speed.add_argument("--retries", dest="retry_budget", type=int, metavar="RETRIES",
                       help="transient faults retried per run, in all "
                       f"(default {default('retry_budget')})")
    speed.add_argument("--prices", dest="prices_file", type=Path, metavar="FILE",
                       help="JSON price table merged over the providers' own")
    roles = parser.add_argument_group(
        "providers (installed ones, their roles and needs: agentic-image-gen providers)"
    )
    roles.add_argument("--provider",
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
                        "new prompt, accept) and at the end, or only at the end (default "
                        f"{default('review')})")
    person.add_argument("--review-timeout", type=float, metavar="SECONDS",
                        help="after this long without an answer the evaluator's choice goes on "
                        "(default: wait)")
    add("--quiet", action="store_true", help="no progress on stderr")
    add("--version", action="version", version=f"%(prog)s {__version__}")


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
    image = {name: getattr(args, name) for name in ImageSettings.model_fields}
    names = {role: getattr(args, role) for role in ProviderNames.model_fields}
    given = {
        "prompt": args.prompt,
        "refs": tuple(args.refs),
        # The image settings are validated with the rest: every problem is reported at once.
        "image": {name: value for name, value in image.items() if value is not None},
        "providers": {name: value for name, value in names.items() if value is not None},
        "provider_options": provider_options(args),
        **{field: getattr(args, field) for field in _OWN_FLAGS},
    }
    # A flag not given leaves RunConfig's own default.
    return validated(
        lambda: RunConfig.model_validate({k: v for k, v in given.items() if v is not None})
    )


# Flags that only steer this process (not the run's settings): fine on a resume.
_PROCESS_FLAGS = {"resume", "quiet", "json_errors", "upload", "public", "upload_report"}
_PROCESS_FLAGS |= {"command", "spec", "run_flags"}  # the parser's own: which subcommand


def resume_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The limits a resume changes (Session.resume's keywords); any flag that would change
    what the run makes is refused, named, instead of being silently ignored."""
    blank = argparse.ArgumentParser()
    add_run_arguments(blank)
    defaults = blank.parse_args([])
    for name, value in vars(args).items():
        if name in RESUMABLE or name in _PROCESS_FLAGS:
            continue
        if value != getattr(defaults, name):
            flag = FLAGS.get(name) or FLAGS.get(f"image.{name}") or "--" + name.replace("_", "-")
            raise InputError(
                f"{flag} cannot change on --resume: the run keeps its own settings (only "
                f"{RESUMABLE_TEXT} may be given)"
            )
    return {field: getattr(args, field) for field in RESUMABLE if getattr(args, field) is not None}


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
