"""The process's TLS trust store, shared by every HTTP client it makes (reference fetchers,
a session's API client): loading a CA bundle takes ~30 ms, which each new client would
otherwise spend again."""

from __future__ import annotations

import functools
import os
import ssl

import httpx


def trust_store() -> ssl.SSLContext:
    """httpx's own choice of bundle: certifi, or SSL_CERT_FILE/SSL_CERT_DIR (corporate CAs);
    set differently later, they give another store."""
    return _trust_store(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _trust_store(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # reads the same two variables
