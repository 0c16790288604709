"""How errors are shown: the ``--json-errors`` object, and URLs with their secrets removed.

``--json-errors`` (decided for issue 4): on failure, stdout carries exactly one line, the JSON
object ``{"error": {"type", "message", "exit_code"}}``, and stderr still carries the usual one
line ``agentic-image-gen: error: ...``; without the flag stdout stays empty. Scripts can then
tell a failure from a result by the top-level key, with no stderr parsing.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit, urlunsplit

_SHOWN_LENGTH = 200


def error_object(error: BaseException) -> dict[str, object]:
    """The JSON-ready error: a RunFailed is described by the error that stopped the run."""
    cause = getattr(error, "cause", None) or error
    exit_code = getattr(error, "exit_code", 1)
    message = " ".join(str(error).split()) or type(cause).__name__
    return {"type": type(cause).__name__, "message": message, "exit_code": exit_code}


def error_json(error: Exception) -> str:
    """``{"error": {...}}`` on one line, for stdout under ``--json-errors``."""
    return json.dumps({"error": error_object(error)}, ensure_ascii=False)


def shown(url: str) -> str:
    """The URL as it may appear in messages and files: credentials replaced, length capped."""
    try:
        parts = urlsplit(url)
        if "@" in parts.netloc:
            url = urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
    except ValueError:
        url = re.sub(r"//[^/]*@", "//***@", url)
    return url if len(url) <= _SHOWN_LENGTH else url[: _SHOWN_LENGTH - 1] + "…"


def without_secrets(message: str, url: str) -> str:
    """Belt and braces: no credential from ``url`` survives in ``message``, whatever echoed it."""
    try:
        parts = urlsplit(url)
        secrets = [s for s in (parts.password, parts.username) if s]
    except ValueError:
        secrets = []
    for secret in secrets:
        message = message.replace(secret, "***")
    return " ".join(message.split())
