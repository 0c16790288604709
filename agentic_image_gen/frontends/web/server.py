"""Start the web app: bind (loopback by default), print the address with its token once the
app is ready, open a browser, serve until Ctrl-C or SIGTERM (runs are journaled as
interrupted and go on at the next start)."""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
import webbrowser

from agentic_image_gen.core.errors import ConfigurationError, InputError

PROG = "agentic-image-gen"


def serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from agentic_image_gen.frontends.web.app import WebSettings, create_app
    except ImportError as exc:
        raise ConfigurationError(
            f"the web app needs its extra ({exc.name} is missing): "
            "pip install 'agentic-image-gen[web]'"
        ) from exc
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is not a port (0-65535)")
    if not 1 <= args.max_runs <= 32:
        raise InputError(f"--max-runs {args.max_runs} must be between 1 and 32")
    out = args.out.expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out} cannot be created: {exc.strerror or exc}") from exc
    sock = _bound(args.host, args.port)
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{port}/?token={token}"

    def ready() -> None:
        print(url, flush=True)
        print(f"{PROG} web: serving {out} (Ctrl-C stops; queued and running runs go on at the "
              "next start)", file=sys.stderr, flush=True)
        if args.host in ("0.0.0.0", "::", ""):
            print(f"{PROG} web: listening on every address: anyone who has the token can use it",
                  file=sys.stderr, flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    settings = WebSettings(out, token, args.host, port, args.max_runs, args.allow_private_urls)
    app = create_app(settings, ready)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5,
                            lifespan="on", access_log=False)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Pages keep their event streams open: end them first, or the shutdown waits.
            manager = getattr(getattr(app, "app", None), "state", None)
            if manager is not None and hasattr(manager, "manager"):
                manager.manager.end_streams()
            await super().shutdown(sockets)

    Server(config).run(sockets=[sock])
    return 0


def _bound(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock
