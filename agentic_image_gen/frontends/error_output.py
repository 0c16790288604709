"""How errors are shown: the ``--json-errors`` object, and URLs with their secrets removed.

``--json-errors`` (decided for issue 4): on failure, stdout carries exactly one line, the JSON
object ``{"error": {"type", "message", "exit_code"}}``, and stderr still carries the usual one
line ``agentic-image-gen: error: ...``; without the flag stdout stays empty. Scripts can then
tell a failure from a result by the top-level key, with no stderr parsing.
"""

from __future__ import annotations

import json
import re
import sys
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


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (an ESC that would recolour or move the
    cursor, a newline that would fake a second line) and undecodable bytes become their repr
    escapes (``\\x1b``, ``\\n``, ``\\udcff``); everything printable stays as it is."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def print_error(prog: str, error: BaseException, json_errors: bool = False) -> int:
    """The one stderr line (and, with ``--json-errors``, the one stdout line); the exit code."""
    print(f"{prog}: error: {printable(str(error))}", file=sys.stderr, flush=True)
    if json_errors:
        print(json.dumps({"error": error_object(error)}), flush=True)
    exit_code: int = getattr(error, "exit_code", 1)
    return exit_code
