"""GET a user-supplied URL without letting it reach inside the user's network (no SSRF).

Only http/https. Redirects are followed here (at most ``max_redirects``) so every hop is checked
again, parsed by httpx's own parser. A host is refused if its name is a metadata or localhost name,
or if ANY address it resolves to is not publicly routable, including IPv4 inside IPv6 (mapped,
6to4, NAT64, Teredo) and numeric spellings as ``inet_aton`` reads them (``2130706433``,
``0x7f000001``, ``0177.0.0.1``, ``127.1``). The check runs inside the connection
(:class:`PinnedBackend`), which connects to the very address it vetted: nothing to rebind. Bodies
are capped and never decompressed (no decompression bomb); each fetch has a deadline.
``allow_private`` lifts the address rule only; cloud metadata stays refused even then.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from agentic_image_gen.core.redact import shown
from agentic_image_gen.inputs.tls import trust_store

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_GOOGLE = ("metadata", "metadata.google.internal", "metadata.goog")
_OTHERS = ("instance-data", "instance-data.ec2.internal", "metadata.tencentyun.com")
METADATA_HOSTS = frozenset((*_GOOGLE, *_OTHERS, "metadata.azure.internal"))
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}$", re.IGNORECASE)
TIMEOUT = httpx.Timeout(20.0, connect=10.0)  # per network operation
DEADLINE = 60.0  # seconds for one whole fetch: DNS, redirects and body


class FetchError(Exception):
    """A fetch failed; ``str()`` is a phrase that follows the URL ("answered HTTP 404")."""


class UnsafeTarget(FetchError):
    """A refused URL; ``private`` when ``--allow-private-urls`` would lift the refusal."""

    def __init__(self, message: str, *, private: bool = False) -> None:
        super().__init__(message)
        self.private = private


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str


def literal_address(host: str) -> IPAddress | None:
    """The address a numeric host names, read as ``inet_aton`` (and browsers) read it."""
    host = host.strip("[]").rstrip(".")
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host)
    if not _NUMERIC_HOST.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise UnsafeTarget(f"host {host!r} is a malformed numeric address") from None


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries and would be routed to (mapped, 6to4, NAT64...)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    # NAT64 well-known prefix, or the deprecated IPv4-compatible ::a.b.c.d: the low 32 bits
    low32 = address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 1)
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if low32 else None
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ()), low]
    return [ip for ip in found if ip is not None]


def _range_reason(address: IPAddress) -> str | None:
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _SHARED, "a shared (carrier-grade NAT) address"),
        (address.is_private, "a private address"),
        (getattr(address, "is_site_local", False), "a site-local address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "an address that is not publicly routable"),
    )
    return next((reason for flagged, reason in checks if flagged), None)


def blocked_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not be fetched from, or None when it may."""
    address = ipaddress.ip_address(str(address).split("%", 1)[0])  # ignore an IPv6 zone
    for candidate in [*_embedded_ipv4(address), address]:
        inside = f" ({candidate} inside IPv6)" if candidate is not address else ""
        if candidate in METADATA_ADDRESSES:
            return "a cloud metadata address" + inside
        reason = None if allow_private else _range_reason(candidate)
        if reason:
            return reason + inside
    return None


def check_host_name(host: str, *, allow_private: bool) -> IPAddress | None:
    """Refuse by name (no DNS): metadata names, localhost, unsafe numeric hosts."""
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTS:
        raise UnsafeTarget(f"host {host!r} is a cloud metadata service")
    if not allow_private and (name == "localhost" or name.endswith(".localhost")):
        raise UnsafeTarget(f"host {host!r} is the loopback interface", private=True)
    literal = literal_address(name)
    if literal is not None and (reason := blocked_reason(literal, allow_private=allow_private)):
        raise UnsafeTarget(f"host {host!r} is {reason}", private="metadata" not in reason)
    return literal


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address DNS gives for ``host`` (the one DNS lookup; tests replace this function)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def vetted_addresses(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to; raises UnsafeTarget if any address of ``host`` is unsafe."""
    literal = check_host_name(host, allow_private=allow_private)
    if literal is not None:
        return [literal]
    try:
        addresses = await resolve_host(host.rstrip("."), port)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise FetchError(f"could not be fetched: host {host!r} was not found")
    for address in addresses:
        if reason := blocked_reason(address, allow_private=allow_private):
            private = "metadata" not in reason
            raise UnsafeTarget(f"host {host!r} resolves to {address}, {reason}", private=private)
    return addresses


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that vets a host and connects to the address it vetted.

    httpcore calls ``connect_tcp(host)`` with the URL's host name; we resolve it once, refuse it
    if any address is unsafe, and open the TCP connection to that vetted IP. Everything above
    the socket is untouched: the request still carries ``Host: <name>``, and httpcore still
    calls ``start_tls(server_hostname=<name>)``, so SNI and certificate verification (hostname
    match and chain, with the default ``CERT_REQUIRED`` context) are against the name.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await vetted_addresses(host, port, allow_private=self.allow_private)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        error: Exception = httpcore.ConnectError(f"no address of {host!r} answered")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (TLS, HTTP/1.1, error mapping) over a PinnedBackend.

    httpx has no public switch for the network backend, so its pool is replaced by one that uses
    ours; should a future httpx build it differently, we fail loudly rather than fetch unchecked.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self.ssl_context = trust_store()
        super().__init__(verify=self.ssl_context, http1=True, http2=False, retries=0)
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("httpx internals changed: cannot pin reference connections")
        self.backend = PinnedBackend(allow_private=allow_private)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=self.ssl_context, network_backend=self.backend, http1=True, http2=False
        )


def check_url(url: str, *, allow_private: bool) -> httpx.URL:
    """Parse with httpx's parser (the one that will be used) and refuse what is never fetched."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        with contextlib.suppress(ValueError):  # httpx rejects 0177.0.0.1: say it is loopback
            if host := urlsplit(url).hostname:
                check_host_name(host, allow_private=allow_private)
        raise UnsafeTarget(f"the URL is not valid ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        scheme = f"{parsed.scheme}:" if parsed.scheme else "no scheme"
        raise UnsafeTarget(f"only http and https URLs are supported (got {scheme})")
    if not parsed.host:
        raise UnsafeTarget("the URL has no host name")
    check_host_name(parsed.host, allow_private=allow_private)
    return parsed


class SafeFetcher:
    """One pinned client for many concurrent fetches: ``async with SafeFetcher() as f``."""

    def __init__(
        self, *, allow_private: bool = False, max_bytes: int = 20 << 20, max_redirects: int = 5
    ) -> None:
        self.allow_private, self.max_bytes = allow_private, max_bytes
        self.max_redirects, self.deadline = max_redirects, DEADLINE
        self.limit = f"{max_bytes >> 20} MB" if max_bytes % (1 << 20) == 0 else f"{max_bytes} bytes"
        self.transport = PinnedTransport(allow_private=allow_private)
        self._client = httpx.AsyncClient(
            transport=self.transport,
            follow_redirects=False,  # followed (and re-checked) in get()
            trust_env=False,  # no proxy from the environment: it would resolve the host itself
            timeout=TIMEOUT,
            headers={"User-Agent": "agentic-image-gen", "Accept-Encoding": "identity"},
        )

    async def __aenter__(self) -> SafeFetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    async def get(self, url: str) -> Fetched:
        """The body of ``url`` (status 200, at most ``max_bytes``) or a FetchError."""
        try:
            async with asyncio.timeout(self.deadline):
                return await self._follow(url)
        except TimeoutError:
            raise FetchError(f"took longer than {self.deadline:g} s; gave up") from None
        except httpx.TimeoutException:
            raise FetchError("timed out") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"could not be fetched: {exc}") from None

    async def _follow(self, url: str) -> Fetched:
        current = url
        for hop in range(self.max_redirects + 1):
            try:
                target = check_url(current, allow_private=self.allow_private)
                async with self._client.stream("GET", target) as response:
                    if not response.is_redirect:
                        return await self._read(response)
                    try:
                        current = str(response.url.join(response.headers["Location"]))
                    except (httpx.InvalidURL, ValueError) as exc:
                        raise FetchError(f"redirects to an invalid URL ({exc})") from None
            except UnsafeTarget as exc:
                if hop == 0:
                    raise
                redirect = f"redirect to {shown(current)!r}: {exc}"
                raise UnsafeTarget(redirect, private=exc.private) from None
        raise FetchError(f"redirects too many times (more than {self.max_redirects})")

    async def _read(self, response: httpx.Response) -> Fetched:
        if response.status_code != 200:
            raise FetchError(f"answered HTTP {response.status_code}")
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise FetchError(f"is larger than {self.limit} (Content-Length {length})")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchError(f"came compressed ({encoding}); only uncompressed images are taken")
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchError(f"is larger than {self.limit}")
        return Fetched(bytes(body), response.headers.get("Content-Type", ""))
