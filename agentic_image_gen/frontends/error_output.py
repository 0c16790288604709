"""How errors are shown: the ``--json-errors`` object.

``--json-errors`` (decided for issue 4): on failure, stdout carries exactly one line, the JSON
object ``{"error": {"type", "message", "exit_code"}}``, and stderr still carries the usual one
line ``agentic-image-gen: error: ...``; without the flag stdout stays empty. Scripts can then
tell a failure from a result by the top-level key, with no stderr parsing.
"""

from __future__ import annotations

import json
import sys

PROG = "agentic-image-gen"



def error_object(error: BaseException) -> dict[str, object]:
    """The JSON-ready error: a RunFailed is described by the error that stopped the run."""
    cause = getattr(error, "cause", None) or error
    exit_code = getattr(error, "exit_code", 1)
    message = " ".join(str(error).split()) or type(cause).__name__
    return {"type": type(cause).__name__, "message": message, "exit_code": exit_code}


def error_json(error: Exception) -> str:
    """``{"error": {...}}`` on one line, for stdout under ``--json-errors``."""
    return json.dumps({"error": error_object(error)}, ensure_ascii=False)


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
