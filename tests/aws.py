"""A real AWS-compatible endpoint on 127.0.0.1: moto in server mode, for cloud tests.

The server's boto3 code runs unchanged against it (`Settings.aws_endpoint_url`). State is
reset before every test, so each test arranges the AWS resources it needs.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import httpx
import pytest
from moto.server import ThreadedMotoServer

from server.config import Settings

# Any well-formed keys do for moto; the server's own identity (assuming roles) uses them too.
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAUPMETRTESTKEY01",
    "AWS_SECRET_ACCESS_KEY": "upmetr-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    saved = {key: os.environ.get(key) for key in FAKE_ENV}
    os.environ.update(FAKE_ENV)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def aws(moto_endpoint: str, settings: Settings) -> str:
    """moto's endpoint, emptied, with the server under test pointed at it."""
    httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    # A test may have turned on moto's IAM checks (`enforce_iam`); every test starts without.
    httpx.post(
        f"{moto_endpoint}/moto-api/reset-auth", content=b"inf", timeout=10
    ).raise_for_status()
    settings.aws_endpoint_url = moto_endpoint
    return moto_endpoint


def enforce_iam(endpoint: str) -> None:
    """Make moto check signatures and IAM policies from now on, as AWS does: unknown keys
    are refused (InvalidClientTokenId), and a user may only do what its policies allow."""
    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
