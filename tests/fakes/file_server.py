"""A loopback HTTP server that serves canned replies: reference images for the tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class CannedReply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        reply = self.server.routes.get(self.path, CannedReply(404, b"not found"))
        self.server.hits.append(self.path)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, CannedReply]
    hits: list[str]

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up on an error status (as ours does) is not a server fault:
        socketserver would print a traceback into the stderr the tests read."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FileServer:
    """``with FileServer() as files: files.add("/a.png", png_bytes); url = files.url("/a.png")``."""

    def __init__(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.routes = {}
        self._httpd.hits = []
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def hits(self) -> list[str]:
        return self._httpd.hits

    def add(self, path: str, body: bytes, status: int = 200, **headers: str) -> str:
        self._httpd.routes[path] = CannedReply(status, body, headers)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"
