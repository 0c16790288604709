"""What went wrong in an OpenAI call, told apart so each failure reaches the user as what it is.

Two jobs: ``classify`` tells the retry policy whether another try can help (as the SDK's own
``_should_retry`` does: ``x-should-retry`` first, then the status); ``translated`` turns what
is left into one of our errors, with the exit code that says what to do next: fix the input
(2/3), fix the account (4), change the prompt or references (8), or try again later (5).
"""

from __future__ import annotations

import json
import re

import openai
from openai.types.responses import Response

from agentic_image_gen.core.errors import (
    AigError,
    ConfigurationError,
    ContentRefused,
    IncompleteReply,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
)
from agentic_image_gen.core.retry import TRANSIENT_STATUSES, Attempt, retry_after_seconds

# ``error.code`` values of a ``status: failed`` Response that another try can cure.
TRANSIENT_RESPONSE_CODES = frozenset(
    {"server_error", "rate_limit_exceeded", "vector_store_timeout", "internal_error"}
)
# Codes and types the API uses for a content-policy block, in an HTTP error or a Response.
POLICY_CODES = frozenset(
    {
        "moderation_blocked",
        "content_policy_violation",
        "image_content_policy_violation",
        "content_filter",
        "bio_policy",
        "misalignment_policy_violation",
    }
)
# Codes that look transient by status (429) but are settled in the account's billing.
ACCOUNT_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
_CATEGORIES = re.compile(r"safety_violations=\[([^\]]*)\]")
ADVICE = "change the prompt or the reference images and try again"


class ResponseFailed(Exception):
    """A Response that came back with ``status: failed``; transient codes are retried."""

    def __init__(self, response: Response) -> None:
        error = response.error
        self.code = str(error.code) if error is not None else ""
        self.text = error.message if error is not None else f"status {response.status}"
        super().__init__(f"{self.code}: {self.text}" if self.code else self.text)
        self.response = response


def classify(error: Exception) -> Attempt | None:
    """Whether an error is worth another try (None: not an API error; re-raise it)."""
    if isinstance(error, openai.APIStatusError):
        headers = error.response.headers
        should_retry = headers.get("x-should-retry")
        if should_retry in ("true", "false"):  # the server knows best, as the SDK obeys
            transient = should_retry == "true"
        else:
            code = _code(error)
            transient = code not in ACCOUNT_CODES and (
                error.status_code in TRANSIENT_STATUSES or error.status_code >= 500
            )
        return Attempt(transient=transient, retry_after=retry_after_seconds(headers))
    if isinstance(error, ResponseFailed):
        return Attempt(transient=error.code in TRANSIENT_RESPONSE_CODES)
    if isinstance(error, openai.APIConnectionError):  # includes timeouts
        return Attempt(transient=True)
    if isinstance(error, json.JSONDecodeError):  # a garbled 200 (proxy, cut-off body)
        return Attempt(transient=True)
    return None


def _code(error: openai.APIStatusError) -> str:
    return str(getattr(error, "code", None) or "")


def describe(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        nested = body.get("error", body)
        if isinstance(nested, dict) and isinstance(nested.get("message"), str):
            return str(nested["message"])
    return error.message


def categories_in(text: str) -> tuple[str, ...]:
    """The moderation categories an API message names (``safety_violations=[a, b]``)."""
    match = _CATEGORIES.search(text)
    if not match:
        return ()
    return tuple(part.strip(" '\"") for part in match[1].split(",") if part.strip(" '\""))


def refused(
    stage: str, reason: str, code: str = "", categories: tuple[str, ...] = ()
) -> ContentRefused:
    """The one-line refusal: the stage, the flagged categories (if any), and what to do."""
    categories = categories or categories_in(reason)
    flagged = f" (categories: {', '.join(categories)})" if categories else ""
    kind = f" [{code}]" if code else ""
    where = stage or "a request"
    return ContentRefused(
        f"content refused during {where}{kind}{flagged}: {reason.strip()}; {ADVICE}",
        stage=stage,
        categories=categories,
    )


def is_policy_block(code: str, text: str) -> bool:
    lowered = text.lower()
    return code in POLICY_CODES or "safety system" in lowered or "usage policy" in lowered


def call_block(response: Response) -> tuple[str, tuple[str, ...], str] | None:
    """An image call blocked by moderation: (message, categories, moderation stage)."""
    for item in response.output:
        if item.type == "image_generation_call" and item.error is not None:
            details = item.error.moderation_details
            categories = tuple(details.categories) if details is not None else ()
            where = details.moderation_stage if details is not None else ""
            if details is not None or is_policy_block(item.error.code or "", item.error.message):
                return item.error.message, categories, where
    return None


def _refusal(response: Response) -> str | None:
    for item in response.output:
        if item.type == "message":
            for part in item.content:
                if part.type == "refusal":
                    return part.refusal
    return None


def incomplete_reason(response: Response) -> str | None:
    """Why a response stopped early (``content_filter``, ``max_output_tokens``...), or None
    when it did not; "unknown" when the API did not say."""
    if response.status != "incomplete":
        return None
    details = response.incomplete_details
    return details.reason if details is not None and details.reason else "unknown"


def filtered(stage: str, action: str) -> ContentRefused:
    """A response the content filter cut off: a refusal like any other, whatever the stage."""
    return refused(stage, f"the reply while {action} was cut off by the content filter")


def reply_text(response: Response, action: str, stage: str) -> str:
    """The reply's text, or the error that says why there is none worth reading: a refusal
    (ContentRefused, exit 8) or a reply cut off (IncompleteReply, with its reason)."""
    if (refusal := _refusal(response)) is not None:
        raise refused(stage, f"the model refused while {action}: {refusal}")
    if (reason := incomplete_reason(response)) is not None:
        if reason == "content_filter":
            raise filtered(stage, action)
        raise IncompleteReply(
            f"the reply while {action} is incomplete ({reason}): "
            "the model stopped before its answer was whole"
        )
    return response.output_text


def translated(
    error: Exception, action: str, stage: str, retried: int, secret: str
) -> AigError:
    """Our error for an SDK error (or a failed Response), one line, the key redacted."""
    after = f" (after {retried} retries)" if retried else ""
    notes = "; ".join(getattr(error, "__notes__", []))
    extra = f" ({notes})" if notes else ""
    kind: type[AigError] = ProviderError
    if isinstance(error, ResponseFailed):
        if (block := call_block(error.response)) is not None:
            text, categories, moderated = block
            on = f" (moderation of the {moderated})" if moderated in ("input", "output") else ""
            return _redacted(refused(stage, text + on, "moderation_blocked", categories), secret)
        if is_policy_block(error.code, error.text):
            return _redacted(refused(stage, error.text, error.code), secret)
        transient = error.code in TRANSIENT_RESPONSE_CODES
        kind = ProviderUnavailable if transient else ProviderError
        text = f"OpenAI's response failed while {action}{after}: {error}"
    elif isinstance(error, openai.AuthenticationError):
        kind = ConfigurationError
        text = f"OpenAI rejected the API key while {action}: {describe(error)}"
    elif isinstance(error, openai.PermissionDeniedError):
        kind = PermissionDenied
        text = (
            f"OpenAI denied permission while {action}: {describe(error)} "
            "(check the organisation, project and model access of this key)"
        )
    elif isinstance(error, openai.APIStatusError):
        code, message = _code(error), describe(error)
        if is_policy_block(code, message):
            return _redacted(refused(stage, message, code), secret)
        if code == "model_not_found" or (error.status_code == 404 and "model" in message):
            return _redacted(ConfigurationError(_unknown_model(error, action, message)), secret)
        if code in ACCOUNT_CODES:
            kind = ConfigurationError
        elif error.status_code in TRANSIENT_STATUSES or error.status_code >= 500:
            kind = ProviderUnavailable
        text = f"OpenAI answered HTTP {error.status_code} while {action}{after}: {message}{extra}"
    elif isinstance(error, openai.APITimeoutError):
        kind, text = ProviderUnavailable, f"OpenAI timed out while {action}{after}"
    elif isinstance(error, openai.APIConnectionError):
        kind = ProviderUnavailable
        text = f"cannot reach the OpenAI API while {action}{after}: {error}"
    elif isinstance(error, json.JSONDecodeError):
        kind, text = ProviderUnavailable, f"OpenAI sent an unreadable reply while {action}{after}"
    else:
        text = f"OpenAI failed while {action}: {error}"
    return _redacted(kind(" ".join(text.split())), secret)


def _requested_models(error: openai.APIStatusError) -> list[str]:
    """The models the failed request named: its own and its tools' (the image model)."""
    try:
        body = json.loads(error.request.content or b"{}")
    except (ValueError, RuntimeError):  # not JSON (an upload), or a streamed body
        return []
    if not isinstance(body, dict):
        return []
    tools = body.get("tools")
    tool_models = (t.get("model") for t in tools or [] if isinstance(t, dict))
    named = [body.get("model"), *tool_models]
    return [str(model) for model in dict.fromkeys(named) if isinstance(model, str) and model]


def _unknown_model(error: openai.APIStatusError, action: str, message: str) -> str:
    """A model the API does not know (or this key may not use), named: a setting to fix."""
    models = _requested_models(error)
    named = [model for model in models if model in message] or models
    which = " or ".join(named) if named else "the requested model"
    text = (
        f"OpenAI has no model {which} for this key while {action}: {message} (check "
        "--model, --image-model, --evaluator-model and --prompter-model, or the AIG_* "
        "variables, and the project's model access)"
    )
    return " ".join(text.split())


def _redacted(error: AigError, secret: str) -> AigError:
    if secret and secret in str(error):
        error.args = (str(error).replace(secret, "[redacted]"),)
    return error
