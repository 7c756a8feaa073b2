"""Certificate expiry and TLS verification against an HTTPS server on 127.0.0.1 whose
self-signed certificate each test generates with `cryptography`."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.providers.checks import Checker, CheckSpec
from server.providers.checks.tls import peer_certificate_expiry
from tests.conftest import LOCAL_TARGETS


def make_certificate(directory: Path, *, not_before: datetime, not_after: datetime) -> Path:
    """A self-signed certificate for 127.0.0.1 that can also serve as its own CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upmetr test target")])
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    path = directory / f"cert-{certificate.serial_number}.pem"
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM) + key_pem)
    return path


@asynccontextmanager
async def https_target(cert_path: Path, status: int = 200) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text="secure ok")

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path)
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


@pytest.fixture
def certificate(tmp_path: Path) -> Callable[..., Path]:
    def build(*, days_left: float, days_old: float = 1) -> Path:
        now = datetime.now(UTC)
        not_before = now - timedelta(days=days_old)
        return make_certificate(
            tmp_path, not_before=not_before, not_after=now + timedelta(days=days_left)
        )

    return build


@pytest.fixture
async def checker() -> AsyncIterator[Checker]:
    async with Checker(max_connections=10, policy=LOCAL_TARGETS) as checker:
        yield checker


def spec(url: str, **fields: Any) -> CheckSpec:
    return CheckSpec(type="http", url=url, timeout_seconds=3, attempts=1, **fields)


async def test_expiry_is_read_when_verification_is_off(
    certificate: Callable[..., Path], checker: Checker
) -> None:
    async with https_target(certificate(days_left=5)) as url:
        outcome = await checker.run(spec(url, verify_tls=False))
    assert outcome.status == "up"
    assert outcome.tls_expires_at is not None
    assert outcome.tls_expires_at.tzinfo is not None
    assert outcome.tls_days_left is not None and 4.9 < outcome.tls_days_left <= 5


async def test_untrusted_self_signed_certificate_is_down_with_tls_error(
    certificate: Callable[..., Path], checker: Checker
) -> None:
    async with https_target(certificate(days_left=5)) as url:
        outcome = await checker.run(spec(url))
    assert outcome.status == "down"
    assert outcome.error is not None
    assert outcome.error.startswith("TLS certificate verification failed: ")
    assert "self-signed" in outcome.error or "self signed" in outcome.error


async def test_certificate_trusted_through_a_ca_file_is_up_with_expiry(
    certificate: Callable[..., Path], checker: Checker
) -> None:
    cert_path = certificate(days_left=5)
    async with https_target(cert_path) as url:
        outcome = await checker.run(spec(url, ca_bundle=str(cert_path)))
    assert outcome.status == "up", outcome.error
    assert outcome.tls_days_left is not None and 4.9 < outcome.tls_days_left <= 5


async def test_expired_certificate_is_down_unless_tls_errors_are_ignored(
    certificate: Callable[..., Path], checker: Checker
) -> None:
    cert_path = certificate(days_left=-2, days_old=30)
    async with https_target(cert_path) as url:
        verified = await checker.run(spec(url, ca_bundle=str(cert_path)))
        ignored = await checker.run(spec(url, verify_tls=False))
    assert verified.status == "down"
    assert verified.error == "TLS certificate verification failed: certificate has expired"
    assert ignored.status == "up"
    assert ignored.tls_days_left is not None and -2.1 < ignored.tls_days_left < -1.9


async def test_expiry_is_read_even_when_the_status_is_wrong(
    certificate: Callable[..., Path], checker: Checker
) -> None:
    async with https_target(certificate(days_left=20), status=500) as url:
        outcome = await checker.run(spec(url, verify_tls=False))
    assert (outcome.status, outcome.status_code) == ("down", 500)
    assert outcome.tls_days_left is not None and 19.9 < outcome.tls_days_left <= 20


async def test_unverified_connection_exposes_only_the_binary_certificate(
    certificate: Callable[..., Path],
) -> None:
    """Why expiry is parsed from DER: getpeercert() is {} when verification is off."""
    unverified = httpx.AsyncClient(verify=False)  # noqa: S501 - the point of the test
    async with (
        https_target(certificate(days_left=5)) as url,
        unverified as client,
        client.stream("GET", url) as response,
    ):
        ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
        assert ssl_object.getpeercert() == {}
        expires_at = peer_certificate_expiry(ssl_object)
    assert expires_at is not None
    assert timedelta(days=4.9) < expires_at - datetime.now(UTC) <= timedelta(days=5)


def test_no_certificate_without_a_tls_connection() -> None:
    assert peer_certificate_expiry(None) is None


async def test_missing_ca_file_is_down_in_words(checker: Checker, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    outcome = await checker.run(spec("https://127.0.0.1:1/", ca_bundle=str(missing)))
    assert outcome.status == "down"
    assert outcome.error is not None
    assert outcome.error.startswith(f"cannot load CA bundle {missing}")
