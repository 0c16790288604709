"""SSRF: references may not reach loopback, private or metadata hosts, however spelled.

Nothing here can produce traffic to a non-loopback address: the autouse ``network_guard`` (see
fakes/network.py) refuses and records any such connection or real DNS lookup and fails the test
if it was hit; DNS answers come from ``FakeDNS``, which replaces the product's one resolver
function. ``PUBLIC`` is a globally routable address the guard routes to a loopback server, so we
can see the product connect to the address it vetted (and to nothing else).
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.network import PUBLIC, FakeDNS, NetworkGuard, Recorder
from images import decode, ring_photo

from agentic_image_gen.core.errors import ReferenceImageError
from agentic_image_gen.inputs import references, safe_http


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    guard.install(monkeypatch)
    yield guard
    assert guard.blocked == [], f"the guard stopped traffic that must never start: {guard.blocked}"


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(safe_http, "resolve_host", fake)
    return fake


@pytest.fixture
def recorder(network_guard: NetworkGuard) -> Iterator[Recorder]:
    server = Recorder(ring_photo(fmt="PNG"))
    network_guard.routes[PUBLIC] = "127.0.0.1"
    yield server
    server.close()


async def refused(url: str, fragment: str, guard: NetworkGuard, **kwargs: Any) -> str:
    """Load ``url``; it must fail naming ``fragment``, with no connection attempted."""
    with pytest.raises(ReferenceImageError, match="refused: ") as caught:
        await references.load_all([url], **kwargs)
    message = str(caught.value)
    assert fragment in message, message
    assert "\n" not in message
    assert guard.connects == [] and guard.blocked == []
    return message


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://127.0.0.1/ring.png", "a loopback address"),
        ("http://127.255.255.254:8080/ring.png", "a loopback address"),
        ("http://[::1]/ring.png", "a loopback address"),
        ("http://10.1.2.3/ring.png", "a private address"),
        ("http://172.16.0.1/ring.png", "a private address"),
        ("http://172.31.255.255/ring.png", "a private address"),
        ("http://192.168.1.1/ring.png", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://169.254.10.10/ring.png", "a link-local address"),
        ("http://[fd00:ec2::254]/latest/", "a cloud metadata address"),
        ("http://0.0.0.0/ring.png", "an unspecified address"),
        ("http://[::]/ring.png", "an unspecified address"),
        ("http://[::ffff:127.0.0.1]/ring.png", "a loopback address"),
        ("http://[::ffff:10.0.0.1]/ring.png", "a private address"),
        ("http://[::ffff:a9fe:a9fe]/", "a cloud metadata address"),
        ("http://2130706433/ring.png", "a loopback address"),
        ("http://0x7f000001/ring.png", "a loopback address"),
        ("http://0177.0.0.1/ring.png", "a loopback address"),
        ("http://127.1/ring.png", "a loopback address"),
        ("http://0x7f.1/ring.png", "a loopback address"),
        ("http://0/ring.png", "an unspecified address"),
        ("http://999999999999/ring.png", "malformed numeric address"),
        ("http://[2002:7f00:1::1]/ring.png", "a loopback address"),  # 6to4 of 127.0.0.1
        ("http://[64:ff9b::a9fe:a9fe]/", "a cloud metadata address"),  # NAT64 of metadata
        ("http://[::7f00:1]/ring.png", "a loopback address"),  # IPv4-compatible
        ("http://[fe80::1]/ring.png", "a link-local address"),
        ("http://[fc00::1]/ring.png", "a private address"),
        ("http://100.64.0.1/ring.png", "a shared (carrier-grade NAT) address"),
        ("http://224.0.0.1/ring.png", "a multicast address"),
        ("http://240.0.0.1/ring.png", "address"),
        ("http://localhost:8080/ring.png", "the loopback interface"),
        ("http://shop.localhost/ring.png", "the loopback interface"),
        ("http://metadata.google.internal/computeMetadata/v1/", "a cloud metadata service"),
        ("http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/", "a cloud metadata service"),
        ("http://instance-data/latest/", "a cloud metadata service"),
    ],
)
async def test_unsafe_hosts_are_refused_without_dns_or_connection(
    url: str, fragment: str, network_guard: NetworkGuard, dns: FakeDNS
) -> None:
    await refused(url, fragment, network_guard)
    assert dns.calls == []


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (["192.168.0.10"], "resolves to 192.168.0.10, a private address"),
        (["169.254.169.254"], "resolves to 169.254.169.254, a cloud metadata address"),
        (["::1"], "resolves to ::1, a loopback address"),
        ([PUBLIC, "10.0.0.1"], "resolves to 10.0.0.1, a private address"),  # any bad answer
        (["203.0.113.9"], "resolves to 203.0.113.9"),  # documentation range: not routable
    ],
)
async def test_host_names_resolving_to_unsafe_addresses_are_refused(
    answer: list[str], fragment: str, network_guard: NetworkGuard, dns: FakeDNS
) -> None:
    dns.set("images.example", answer)
    message = await refused("https://images.example/ring.png", fragment, network_guard)
    assert "--allow-private-urls" in message or "metadata" in message
    assert dns.calls == ["images.example"]


async def test_metadata_stays_refused_with_allow_private(network_guard: NetworkGuard) -> None:
    for url in ("http://169.254.169.254/latest/", "http://metadata.google.internal/"):
        message = await refused(url, "metadata", network_guard, allow_private=True)
        assert "--allow-private-urls" not in message


async def test_public_host_connects_to_the_vetted_address(
    recorder: Recorder, network_guard: NetworkGuard, dns: FakeDNS
) -> None:
    dns.set("shop.example", [PUBLIC])
    url = f"http://shop.example:{recorder.port}/ring.png"
    (loaded,) = await references.load_all([url])
    assert decode(loaded.data).size == (640, 480)
    assert network_guard.connects == [(PUBLIC, recorder.port)]
    assert recorder.hits == [("/ring.png", f"shop.example:{recorder.port}")]


async def test_dns_rebinding_has_no_window(
    recorder: Recorder, network_guard: NetworkGuard, dns: FakeDNS
) -> None:
    """The first answer is public, every later one loopback: one lookup, one vetted connect."""
    dns.set("rebind.example", [PUBLIC], ["127.0.0.1"])
    url = f"http://rebind.example:{recorder.port}/ring.png"
    await references.load_all([url])
    assert dns.calls == ["rebind.example"]
    assert network_guard.connects == [(PUBLIC, recorder.port)]
    # A new fetch looks the name up again, now gets loopback, and connects nowhere.
    with pytest.raises(ReferenceImageError, match=r"resolves to 127\.0\.0\.1, a loopback address"):
        await references.load_all([url])
    assert network_guard.connects == [(PUBLIC, recorder.port)]
    assert len(recorder.hits) == 1


@pytest.mark.parametrize(
    ("location", "fragment"),
    [
        ("http://internal.example:{port}/secret", "resolves to 10.0.0.7, a private address"),
        ("http://127.0.0.1:{port}/secret", "a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/secret", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:{port}/_x", "only http and https"),
    ],
)
async def test_every_redirect_hop_is_checked(
    location: str, fragment: str, recorder: Recorder, network_guard: NetworkGuard, dns: FakeDNS
) -> None:
    dns.set("shop.example", [PUBLIC])
    dns.set("internal.example", ["10.0.0.7"])
    recorder.routes["/start"] = (302, {"Location": location.format(port=recorder.port)})
    with pytest.raises(ReferenceImageError, match="refused: redirect to ") as caught:
        await references.load_all([f"http://shop.example:{recorder.port}/start"])
    assert fragment in str(caught.value)
    assert [path for path, _ in recorder.hits] == ["/start"]  # /secret never fetched
    assert network_guard.connects == [(PUBLIC, recorder.port)]


async def test_allow_private_lifts_only_the_address_check(recorder: Recorder, dns: FakeDNS) -> None:
    dns.set("shop.example", [PUBLIC])
    recorder.routes["/start"] = (302, {"Location": f"http://127.0.0.1:{recorder.port}/ok.png"})
    (loaded,) = await references.load_all(
        [f"http://shop.example:{recorder.port}/start"], allow_private=True
    )
    assert decode(loaded.data).format == "PNG"
    assert [path for path, _ in recorder.hits] == ["/start", "/ok.png"]
    with pytest.raises(ReferenceImageError, match="only http and https"):
        await references.load_all(["file:///etc/passwd"], allow_private=True)


async def test_proxy_variables_are_ignored(
    recorder: Recorder, network_guard: NetworkGuard, dns: FakeDNS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would resolve the host itself, outside the check; fetches never use one."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://10.9.9.9:3128")
    dns.set("shop.example", [PUBLIC])
    await references.load_all([f"http://shop.example:{recorder.port}/ring.png"])
    assert network_guard.connects == [(PUBLIC, recorder.port)]


async def test_tls_stays_verified_against_the_host_name() -> None:
    async with safe_http.SafeFetcher() as fetcher:
        context = fetcher.transport.ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is True
        assert isinstance(fetcher.transport.backend, safe_http.PinnedBackend)


async def test_slow_dns_hits_the_deadline(
    dns: FakeDNS, monkeypatch: pytest.MonkeyPatch, network_guard: NetworkGuard
) -> None:
    async def slow(host: str, port: int) -> list[safe_http.IPAddress]:
        await asyncio.sleep(5)
        return []

    monkeypatch.setattr(safe_http, "resolve_host", slow)
    monkeypatch.setattr(safe_http, "DEADLINE", 0.2)
    with pytest.raises(ReferenceImageError, match=r"took longer than 0\.2 s"):
        await references.load_all(["http://slow.example/ring.png"])
    assert network_guard.connects == []


async def test_unknown_host_is_a_clear_error(dns: FakeDNS) -> None:
    with pytest.raises(ReferenceImageError, match=r"host 'nowhere\.example' was not found"):
        await references.load_all(["https://nowhere.example/ring.png"])
    assert dns.calls == ["nowhere.example"]


def _certificate_for(name: str, folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for ``name`` only, and the CA file that signed it."""
    x509 = pytest.importorskip("cryptography.x509", reason="cryptography makes the test CA")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def issue(subject: str, key: Any, issuer: Any, signer: Any, ca: bool, san: Any) -> Any:
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.OID_COMMON_NAME, subject)]))
            .issuer_name(issuer or x509.Name([x509.NameAttribute(x509.OID_COMMON_NAME, subject)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    ca = issue("Test CA", ca_key, None, ca_key, True, None)
    san = x509.SubjectAlternativeName([x509.DNSName(name)])
    leaf = issue(name, leaf_key, ca.subject, ca_key, False, san)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "leaf.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "leaf.pem", folder / "leaf.key")
    return context, folder / "ca.pem"


@pytest.mark.parametrize("cert_name", ["shop.example", "other.example"])
async def test_https_is_pinned_yet_verified_against_the_name(
    cert_name: str,
    tmp_path: Path,
    network_guard: NetworkGuard,
    dns: FakeDNS,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TCP goes to the vetted IP; SNI and the certificate check use the host name."""
    server_context, ca_file = _certificate_for(cert_name, tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # trust only the test CA
    server = Recorder(ring_photo(fmt="PNG"), tls=server_context)
    network_guard.routes[PUBLIC] = "127.0.0.1"
    dns.set("shop.example", [PUBLIC])
    url = f"https://shop.example:{server.port}/ring.png"
    try:
        if cert_name == "shop.example":
            (loaded,) = await references.load_all([url])
            assert decode(loaded.data).format == "PNG"
            assert server.hits == [("/ring.png", f"shop.example:{server.port}")]
        else:  # a valid chain for another name must not be accepted for this one
            with pytest.raises(ReferenceImageError, match=r"could not be fetched: .*certificate"):
                await references.load_all([url])
            assert server.hits == []
    finally:
        server.close()
    assert network_guard.connects == [(PUBLIC, server.port)]
