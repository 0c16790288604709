"""A loopback-only network for SSRF tests: a guard, a fake resolver and a recording server.

``NetworkGuard`` replaces ``socket.connect``, ``socket.create_connection`` and
``socket.getaddrinfo``: any connection to a non-loopback address, and any real DNS lookup of a
name, is refused and recorded, so a missing check shows up as a test failure, never as traffic.
``routes`` lets a test send one public address (``PUBLIC``) to loopback, so the product can be
seen connecting to the address it vetted. ``FakeDNS`` stands in for the product's resolver.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

PUBLIC = "93.184.215.14"  # globally routable (the product must accept it); routed to 127.0.0.1


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class NetworkGuard:
    """Loopback only; ``blocked`` lists what was stopped, ``connects`` every address dialled."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.connects: list[tuple[str, int]] = []  # as the product asked, before routing
        self.routes: dict[str, str] = {}

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_connect, real_gai = socket.socket.connect, socket.getaddrinfo
        real_create = socket.create_connection

        def connect(sock: socket.socket, address: Any) -> None:
            if isinstance(address, tuple):
                self.connects.append((address[0], address[1]))
                address = (self._route(address[0], "connect"), *address[1:])
            real_connect(sock, address)

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
            target = self._route(address[0], "create_connection")
            return real_create((target, address[1]), *args, **kwargs)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None and not is_ip_literal(str(host)):
                self.blocked.append(f"DNS lookup of {host}")
                raise socket.gaierror(socket.EAI_NONAME, "network guard: no real DNS in tests")
            return real_gai(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket, "create_connection", create_connection)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def _route(self, host: str, how: str) -> str:
        target = self.routes.get(host, host)
        if not is_ip_literal(target) or not ipaddress.ip_address(target).is_loopback:
            self.blocked.append(f"{how} to {host}")
            raise ConnectionRefusedError(f"network guard: {host} is not loopback")
        return target


class FakeDNS:
    """Replaces ``safe_http.resolve_host``; several answers are given call after call."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def set(self, host: str, *answers: list[str]) -> None:
        self.answers[host] = list(answers)

    async def __call__(self, host: str, port: int) -> list[Any]:
        self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        queue = self.answers[host]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return [ipaddress.ip_address(a) for a in answer]


class Recorder(ThreadingHTTPServer):
    """Loopback HTTP(S) server recording (path, Host); ``routes``: path -> (status, headers).

    Any path not routed answers 200 with ``image``. With ``tls``, connections are wrapped.
    """

    daemon_threads = True

    def __init__(self, image: bytes, tls: ssl.SSLContext | None = None) -> None:
        self.hits: list[tuple[str, str]] = []
        self.routes: dict[str, tuple[int, dict[str, str]]] = {}
        self.image = image
        super().__init__(("127.0.0.1", 0), _RecorderHandler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _RecorderHandler(BaseHTTPRequestHandler):
    server: Recorder
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.hits.append((self.path, self.headers.get("Host", "")))
        status, headers = self.server.routes.get(self.path, (200, {}))
        body = self.server.image if status == 200 else b""
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
