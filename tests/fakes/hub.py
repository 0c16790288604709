"""A loopback Hugging Face Hub serving model files, so downloads are tested with the real
``huggingface_hub`` client and no network: ``GET``/``HEAD /{repo}/resolve/{revision}/{file}``
with the headers the client reads (commit, ETag, size). ``hub.use(monkeypatch)`` points the
client at it; ``closed_endpoint()`` is an address where nothing listens (a machine offline).
"""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FakeHub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, revision: str) -> None:
        self.revision = revision
        self.files: dict[str, bytes] = {}  # "repo_id/filename" -> content
        self.requests: list[tuple[str, str]] = []  # (method, path)
        super().__init__(("127.0.0.1", 0), _HubHandler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def use(self, monkeypatch: pytest.MonkeyPatch) -> None:
        point_hub_at(self.endpoint, monkeypatch)

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def point_hub_at(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``HF_ENDPOINT`` does at import time, done after it (the client is imported)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    template = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)


def closed_endpoint() -> str:
    """A loopback address with no server: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _HubHandler(BaseHTTPRequestHandler):
    server: FakeHub
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        self.server.requests.append((self.command, self.path))
        repo, _, rest = self.path.lstrip("/").partition("/resolve/")
        revision, _, filename = rest.partition("/")
        data = self.server.files.get(f"{repo}/{filename}")
        if data is None or revision != self.server.revision:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", self.server.revision)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass
