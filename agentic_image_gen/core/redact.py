"""URLs and messages as they may be shown or stored: credentials removed, length capped."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_SHOWN_LENGTH = 200


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
