"""The tools' arguments: the CLI's run options in snake_case, flat, turned into a RunConfig.

Validation is the RunConfig's (every problem at once); this module only names a problem by
the argument an agent typed, reads data: URIs, and keeps a remote client inside ``--root``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentic_image_gen.core.config import (
    MAX_CANDIDATES,
    MAX_ITERATIONS_LIMIT,
    RunConfig,
    problems,
)
from agentic_image_gen.core.errors import InputError, ReferenceImageError
from agentic_image_gen.core.review import ReviewMode
from agentic_image_gen.core.types import Background, OutputFormat, Quality

# How long a tool call waits for the run before it answers with the run's id: under the
# ~60 s after which many MCP clients give up on a call.
DEFAULT_WAIT_S = 50.0
MAX_WAIT_S = 3600.0
# RunConfig field -> the argument an agent typed (fields not listed keep their name).
ARGUMENTS = {
    "image.quality": "quality",
    "image.size": "size",
    "image.background": "background",
    "image.output_format": "format",
    "image": "",
    "call_timeout": "timeout",
    "retry_budget": "retries",
    "providers.provider": "provider",
    "providers.generator": "generator",
    "providers.evaluator": "evaluator",
    "providers.prompter": "prompter",
}
_WORDS = re.compile(r"\boutput_format\b")
_DATA_URI = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,", re.I)
_WEB = re.compile(r"^https?://", re.I)


class RunArguments(BaseModel):
    """What a new run is made of (None: the run's default)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(description="what the image should show")
    refs: list[str] = Field(
        default_factory=list,
        description="reference photos of the product: paths on the server's machine, "
        "http(s) URLs (public hosts only), or data:image/...;base64 URIs",
    )
    size: str | None = Field(
        None,
        description="auto, 1024x1024 (default), 1024x1536, 1536x1024, or WIDTHxHEIGHT "
        "(multiples of 16, aspect 1:3 to 3:1, at most 3840x2160)",
    )
    quality: Quality | None = Field(None, description="default high")
    background: Background | None = Field(None, description="default transparent")
    format: OutputFormat | None = Field(None, description="default png")
    max_iterations: int | None = Field(None, description=f"rounds, 1-{MAX_ITERATIONS_LIMIT} (3)")
    threshold: int | None = Field(None, description="stop at this score, 0-100 (85)")
    patience: int | None = Field(
        None, description="stop after this many rounds without a better score (3; 0: never)"
    )
    candidates: int | None = Field(
        None, description=f"images per round, the best continues (1-{MAX_CANDIDATES}; 1)"
    )
    max_cost: float | None = Field(None, description="stop before spending more US dollars")
    timeout: float | None = Field(None, description="seconds for one provider call (600)")
    retries: int | None = Field(None, description="transient faults retried per run (8)")
    profile: str | None = Field(
        None, description="a marketplace profile (list_profiles): its rules join the brief "
        "and the best image is delivered as a file that passes them"
    )
    segmenter: str | None = Field(None, description="what cuts the product out (auto)")
    lock_product: bool = Field(
        False, description="keep the reference's own product pixels; only the scene is painted"
    )
    review: ReviewMode = Field(
        "never", description="rounds: wait for a person after every round; final: at the end "
        "(answer with review_run)"
    )
    review_timeout: float | None = Field(
        None, description="seconds to wait for a review before the evaluator's pick goes on"
    )
    provider: str = Field("auto", description="auto (openai with OPENAI_API_KEY, else local)")
    generator: str | None = Field(None, description="override the generator")
    evaluator: str | None = Field(None, description="override the evaluator")
    prompter: str | None = Field(None, description="override the prompter")
    out_dir: str | None = Field(None, description="parent of the run folder (the server's --out)")


class Waiting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wait_s: float = Field(
        DEFAULT_WAIT_S, ge=0, le=MAX_WAIT_S,
        description="seconds to wait for the run to end (or to ask for a review) before "
        "answering with its id and status; go on with wait_run",
    )


class GenerateArguments(Waiting, RunArguments):
    pass


class RunId(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(description="a run's id (start_run, list_runs)")


class WaitArguments(Waiting, RunId):
    pass


class ResumeArguments(WaitArguments):
    max_iterations: int | None = Field(None, description="a new cap on rounds")
    threshold: int | None = Field(None, description="a new stopping score")
    patience: int | None = Field(None, description="a new patience")
    max_cost: float | None = Field(None, description="a new budget in US dollars")
    timeout: float | None = Field(None, description="seconds for one provider call")
    retries: int | None = Field(None, description="transient faults retried")

    def limits(self) -> dict[str, Any]:
        """Session.resume's keywords (RunConfig fields)."""
        given = {
            "max_iterations": self.max_iterations,
            "threshold": self.threshold,
            "patience": self.patience,
            "max_cost": self.max_cost,
            "call_timeout": self.timeout,
            "retry_budget": self.retries,
        }
        return {key: value for key, value in given.items() if value is not None}


class ReviewArguments(WaitArguments):
    pick: int | None = Field(None, description="the image (iteration number) to go on from or "
                             "to approve; none: the evaluator's pick")
    notes: str | None = Field(None, description="notes the prompter reads with the critique")
    prompt: str | None = Field(None, description="the next prompt, used as written")
    accept: bool = Field(False, description="stop the run with this image")
    retry: bool = Field(False, description="none is good: play the round again")


class ListArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=1000, description="at most this many runs, newest first")


class NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Policy:
    """What a client may reach on this server. ``confined``: a remote client, whose local
    paths and out_dir must lie inside ``root`` (none: refused)."""

    out_dir: Path
    root: Path | None = None
    confined: bool = False
    allow_private_urls: bool = False

    def folder(self, given: str | None) -> Path:
        if given is None:
            return self.out_dir
        return self.inside(given, "out_dir")

    def inside(self, given: str, what: str) -> Path:
        """``given`` as a path this client may use (relative to ``root`` when confined)."""
        if not self.confined:
            return Path(given).expanduser()
        if self.root is None:
            raise InputError(
                f"{what} {given!r} refused: this server takes no paths from remote clients "
                "(start it with --root to allow a folder)"
            )
        root = self.root.resolve()
        path = (root / Path(given).expanduser()).resolve()
        if not path.is_relative_to(root):
            raise InputError(f"{what} {given!r} is outside the server's --root")
        return path


def config_of(arguments: RunArguments, policy: Policy) -> RunConfig:
    """The run's validated config; InputError naming each bad argument as the agent typed it."""
    image = {
        "quality": arguments.quality,
        "size": arguments.size,
        "background": arguments.background,
        "output_format": arguments.format,
    }
    values: dict[str, Any] = {
        "prompt": arguments.prompt,
        "refs": tuple(reference(ref, number, policy) for number, ref in enumerate(arguments.refs)),
        "image": {key: value for key, value in image.items() if value is not None},
        "out_dir": policy.folder(arguments.out_dir),
        "allow_private_urls": policy.allow_private_urls,
        "lock_product": arguments.lock_product,
        "review": arguments.review,
        "providers": {
            "provider": arguments.provider,
            "generator": arguments.generator,
            "evaluator": arguments.evaluator,
            "prompter": arguments.prompter,
        },
    }
    optional = {
        "max_iterations": arguments.max_iterations,
        "threshold": arguments.threshold,
        "patience": arguments.patience,
        "candidates": arguments.candidates,
        "max_cost": arguments.max_cost,
        "call_timeout": arguments.timeout,
        "retry_budget": arguments.retries,
        "profile": arguments.profile,
        "segmenter": arguments.segmenter,
        "review_timeout": arguments.review_timeout,
    }
    values.update({key: value for key, value in optional.items() if value is not None})
    try:
        return RunConfig.model_validate(values)
    except ValidationError as error:
        raise InputError(message_of(error)) from error


def message_of(error: ValidationError) -> str:
    """One line: every problem under the argument's name."""
    parts = []
    for field, message in problems(error):
        name = ARGUMENTS.get(field, field)
        message = _WORDS.sub("format", message)
        parts.append(f"{name} {message}" if name else message)
    return "; ".join(parts)


def reference(given: str, number: int, policy: Policy) -> str | bytes:
    """A reference as the engine takes it: a URL as given (the engine's SSRF rules apply),
    a data: URI as its bytes, a path checked against the policy."""
    if _WEB.match(given):
        return given
    if given[:5].lower() == "data:":
        return _data_uri(given, number)
    if not policy.confined:
        return given  # the engine reads it, or says why not
    return str(policy.inside(given, f"refs[{number}]"))


def _data_uri(given: str, number: int) -> bytes:
    head = _DATA_URI.match(given)
    if head is None:
        raise ReferenceImageError(f"refs[{number}] is a data: URI without ';base64,' image data")
    try:
        return base64.b64decode(given[head.end():], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReferenceImageError(f"refs[{number}] is a data: URI with bad base64: {exc}") from exc
