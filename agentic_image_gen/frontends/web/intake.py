"""What callers send, turned into the engine's types, and what they may not send.

The web app runs with the server's files, network and keys, so a request may choose what a
run makes but not where it reaches: runs go under ``--out``; prices files, local reference
paths, provider options that name an endpoint, a key variable or a file, and private URLs
(unless the server was started with ``--allow-private-urls``) are refused with 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentic_image_gen.core.config import MAX_PROMPT_CHARS, RunConfig
from agentic_image_gen.core.review import MAX_NOTES_CHARS, ReviewDecision, ReviewRequest

# Option names that point somewhere (an endpoint, a key's variable, a file or folder).
_REACHING_OPTION = re.compile(r"(^|_)(url|urls|endpoint|host|env|key|path|file|dir|folder)$")
_SERVER_ONLY = {
    "out_dir": "runs are written under the folder the server was started with (--out)",
    "prices_file": "a prices file is the server's to choose",
}
REVIEWED_BY = "web"  # who decided, in the journal


class Refused(Exception):
    """A request the app will not carry out: its HTTP status and a one-line reason."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


def config_fields(text: str) -> dict[str, Any]:
    """The ``config`` form field: a JSON object of RunConfig fields, checked for reach."""
    try:
        fields = json.loads(text or "{}")
    except ValueError as exc:
        raise Refused(f"config is not JSON ({exc})") from exc
    if not isinstance(fields, dict):
        raise Refused("config must be a JSON object of run settings")
    unknown = sorted(set(fields) - set(RunConfig.model_fields))
    if unknown:
        raise Refused(f"config has unknown fields: {', '.join(unknown)}")
    for name, reason in _SERVER_ONLY.items():
        if name in fields:
            raise Refused(f"config.{name} is not accepted: {reason}")
    refs = fields.get("refs", [])
    if not isinstance(refs, list) or not all(
        isinstance(ref, str) and ref.lower().startswith(("http://", "https://")) for ref in refs
    ):
        raise Refused("config.refs may hold only http(s) URLs: upload photos as refs files")
    options = fields.get("provider_options", {})
    if not isinstance(options, dict):
        raise Refused("config.provider_options must be an object of objects")
    for provider, values in options.items():
        if not isinstance(values, dict):
            raise Refused(f"config.provider_options.{provider} must be an object")
        for key in values:
            if _REACHING_OPTION.search(str(key).lower()):
                raise Refused(
                    f"config.provider_options.{provider}.{key} is not accepted: endpoints, key "
                    "variables and files are the server's to set"
                )
    return fields


def run_config(
    fields: dict[str, Any], uploads: list[bytes], out: Any, allow_private: bool
) -> RunConfig:
    """The run's config: the uploads first (the first photo is the product), then any URLs;
    raises pydantic's ValidationError (every problem at once)."""
    if fields.get("allow_private_urls") and not allow_private:
        raise Refused(
            "config.allow_private_urls is not accepted: start the server with "
            "--allow-private-urls to let runs fetch from private networks"
        )
    values = {
        **fields,
        "refs": [*uploads, *fields.get("refs", [])],
        "out_dir": out,
        "allow_private_urls": bool(fields.get("allow_private_urls", allow_private)),
    }
    return RunConfig.model_validate(values)


def upload_reason(message: str, names: list[str]) -> str:
    """An engine message about ``in-memory reference #N`` names the uploaded file instead."""

    def named(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return repr(names[number - 1]) if 0 < number <= len(names) else match.group(0)

    return re.sub(r"'in-memory reference #(\d+)'", named, message)


class DecisionBody(BaseModel):
    """A person's answer to a review. ``pick``: an image's iteration number to continue from
    (or approve); ``null`` for none (try the round again); left out, the evaluator's choice.
    ``accept`` stops the run with the pick (without one, the best so far)."""

    model_config = ConfigDict(extra="forbid")

    pick: int | None = None
    notes: str = Field(default="", max_length=MAX_NOTES_CHARS)
    prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    accept: bool = False


def decision(body: DecisionBody, request: ReviewRequest) -> ReviewDecision:
    """The engine's decision for ``body`` (ValueError, one line, when it does not fit)."""
    none_good = "pick" in body.model_fields_set and body.pick is None and not body.accept
    prompt = body.prompt.strip() if body.prompt and body.prompt.strip() else None
    return ReviewDecision(
        pick=body.pick,
        retry=none_good and request.kind == "round",
        accept=body.accept,
        notes=body.notes.strip(),
        prompt=prompt,
        by=REVIEWED_BY,
    )


class ResumeBody(BaseModel):
    """New limits for a stopped run (each optional; what it was made of stays)."""

    model_config = ConfigDict(extra="forbid")

    max_iterations: int | None = None
    threshold: int | None = None
    max_cost: float | None = None
    call_timeout: float | None = None
    retry_budget: int | None = None
    patience: int | None = None
