"""Starting the server: checks first (one line and an exit code each), then one Session for
the server's life, stdio or streamable HTTP, and every run still going stopped (journaled
``interrupted``, resumable) when the server stops."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import os
import signal
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from agentic_image_gen.core.errors import EXIT_INTERRUPTED, ConfigurationError, InputError
from agentic_image_gen.frontends.mcp.arguments import Policy
from agentic_image_gen.frontends.mcp.options import DEFAULT_PORT, TOKEN_VARIABLE

if TYPE_CHECKING:
    from agentic_image_gen.frontends.mcp.runbook import RunBook

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def policy_of(args: argparse.Namespace) -> tuple[Policy, str | None]:
    """Who may reach what, and the token HTTP clients must send (None: no token needed)."""
    if not args.http and (args.root is not None or args.port != DEFAULT_PORT):
        raise InputError("--root and --port need --http")
    remote = args.http and not is_loopback(args.host)
    token = os.environ.get(TOKEN_VARIABLE) or None
    if remote and token is None:
        raise InputError(
            f"--host {args.host} is reachable from other machines: set {TOKEN_VARIABLE} to a "
            "secret that clients send as 'Authorization: Bearer <token>'"
        )
    if args.root is not None and not args.root.is_dir():
        raise InputError(f"--root {args.root} is not a folder")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"--out {args.out} is not a folder of runs")
    policy = Policy(
        out_dir=args.out.expanduser().resolve(),
        root=args.root.resolve() if args.root is not None else None,
        confined=remote,
        allow_private_urls=args.allow_private_urls,
    )
    return policy, token if args.http else None


def serve_command(args: argparse.Namespace) -> int:
    policy, token = policy_of(args)
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "the MCP server needs the mcp extra: pip install 'agentic-image-gen[mcp]'"
        ) from exc
    try:
        asyncio.run(_serve(args, policy, token))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return EXIT_INTERRUPTED
    return 0


async def _serve(args: argparse.Namespace, policy: Policy, token: str | None) -> None:
    from agentic_image_gen.engine.session import Session
    from agentic_image_gen.frontends.mcp.runbook import RunBook
    from agentic_image_gen.frontends.mcp.server import build_server

    async with Session() as session:
        book = RunBook(session, policy)
        server = build_server(book)
        try:
            if args.http:
                await _serve_http(server.streamable_http_app(host=args.host), args, token)
            else:
                _stop_on_signals(book)
                await server.run_stdio_async()
        finally:
            await book.close()


async def _serve_http(app: App, args: argparse.Namespace, token: str | None) -> None:
    import uvicorn

    served: App = BearerToken(app, token) if token else app
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"agentic-image-gen: MCP over HTTP at http://{host}:{args.port}/mcp",
          file=sys.stderr, flush=True)
    # uvicorn stops on SIGINT/SIGTERM and raises the signal again afterwards: as an interrupt,
    # so the runs still going are journaled before the process ends.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    config = uvicorn.Config(served, host=args.host, port=args.port, log_level="warning")
    await uvicorn.Server(config).serve()


def _stop_on_signals(book: RunBook) -> None:
    """SIGINT, SIGTERM and SIGHUP (a host closing the server) stop it: the runs still going
    are cancelled (each journals itself ``interrupted``, resumable), then the process ends
    with 128 + the signal. Cancelling the server's task is not enough: its stdin is read by
    a worker thread that only a closed pipe frees."""
    loop = asyncio.get_running_loop()

    async def stop(signum: int) -> None:
        await book.close()
        sys.stderr.flush()
        os._exit(128 + signum)

    stopping: list[asyncio.Task[None]] = []  # kept: a task nobody holds may be collected

    def on_signal(signum: int) -> None:
        if not stopping:
            stopping.append(loop.create_task(stop(signum)))

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal, signum)


class BearerToken:
    """ASGI middleware: every HTTP request carries ``Authorization: Bearer <token>``."""

    def __init__(self, app: App, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body",
                            "body": b'{"error": "a bearer token is required"}'})
                return
        await self.app(scope, receive, send)
