"""The lock on the door: every request carries the token, state changes come from the app's
own pages, and every response says what a browser may load.

The token arrives once in the printed URL (``?token=``, as Jupyter does); the answer sets an
HttpOnly, SameSite=Strict cookie and a page is sent on to the same address without it, so the
token does not linger in the address bar, the history or a Referer. Scripts use
``Authorization: Bearer``. A state-changing request authenticated by the cookie (or the query)
must carry the app's own ``Origin``; one with the bearer token needs none (no browser sends
it by itself). A pure ASGI middleware, so server-sent events stream through it untouched.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from urllib.parse import urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Pages: the app's own scripts, styles and images only (blob: for the previews of photos
# picked for upload, drawn before they are sent; data: for the mask a canvas makes).
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Reports are self-contained HTML with inline styles (and no script at all).
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The API's documentation page (Swagger UI, served from the app) sets inline styles.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Where the token's query parameter is turned into a cookie and dropped from the address.
_NOT_PAGES = ("/api/", "/runs/", "/static/", "/openapi.json")


def cookie_name(port: int) -> str:
    """Cookies ignore ports: two servers on one host must not overwrite each other's."""
    return f"aig_token_{port}"


def csp_for(path: str) -> str:
    if path.startswith("/runs/") and path.endswith(".html"):
        return REPORT_CSP
    if path == "/docs":
        return DOCS_CSP
    return PAGE_CSP


class TokenGuard:
    """Refuses (401) any request without the token, (403) a cookie-authenticated state change
    from another origin or a request for another host; adds the security headers."""

    def __init__(self, app: ASGIApp, token: str, port: int, hosts: Iterable[str]) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_name(port)
        # Host headers this server answers to (DNS rebinding); empty: any (bound to all).
        self.hosts = frozenset(hosts)

    def _valid(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(
            candidate.encode("utf-8", "surrogatepass"), self.token.encode()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            return
        request = Request(scope)
        host = request.headers.get("host", "")
        if self.hosts and host not in self.hosts:
            await _refuse(send, 403, "this server does not answer to that host name")
            return
        authorization = request.headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        by_bearer = scheme.lower() == "bearer" and self._valid(credentials.strip())
        by_cookie = self._valid(request.cookies.get(self.cookie))
        by_query = self._valid(request.query_params.get("token"))
        if not (by_bearer or by_cookie or by_query):
            await _refuse(send, 401, "unauthorized: open the address the server printed")
            return
        own_origin = request.headers.get("origin") == f"http://{host}"
        if request.method not in SAFE_METHODS and not by_bearer and not own_origin:
            await _refuse(send, 403, "a change must come from this app's own pages")
            return
        path = scope["path"]
        if by_query and request.method == "GET" and not path.startswith(_NOT_PAGES):
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            location = path + (f"?{urlencode(rest)}" if rest else "")
            await _send(send, 303, b"", [(b"location", location.encode())], self._cookie())
            return
        set_cookie = self._cookie() if by_query and not by_cookie else None
        csp = csp_for(path)

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", csp)
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "no-referrer"
                headers["x-frame-options"] = "DENY"
                if set_cookie is not None:
                    headers.append("set-cookie", set_cookie)
            await send(message)

        await self.app(scope, receive, headed)

    def _cookie(self) -> str:
        return f"{self.cookie}={self.token}; HttpOnly; SameSite=Strict; Path=/"


async def _refuse(send: Send, status: int, reason: str) -> None:
    body = json.dumps({"detail": reason}).encode()
    await _send(send, status, body, [(b"content-type", b"application/json")])


async def _send(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    cookie: str | None = None,
) -> None:
    headers = [
        *headers,
        (b"content-length", str(len(body)).encode()),
        (b"content-security-policy", PAGE_CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
    ]
    if cookie is not None:
        headers.append((b"set-cookie", cookie.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
