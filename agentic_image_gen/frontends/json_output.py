"""The one JSON object on stdout, whatever text it carries.

A prompt or a path may hold a lone surrogate (an argument or a file name with a byte that is
not UTF-8, which Python keeps as ``\\udcxx``). UTF-8 has no form for it, so printing it as text
would crash the very last step of a finished run; JSON's own escape keeps it instead.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout: UTF-8 as written when the stream can encode it,
    else with ASCII escapes (still the same JSON to any parser)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(value, indent=2)
    print(text, flush=True)
