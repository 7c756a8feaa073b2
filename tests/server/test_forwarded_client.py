"""Behind a reverse proxy (UPMETR_TRUSTED_PROXIES) the client's address comes from
X-Forwarded-For: per-IP limits and the audit log name the client, not the proxy; from any
other peer the header is ignored, so nobody picks their own address."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from server.app import build_app
from server.audit.models import AuditLog
from server.config import Settings
from server.context import SESSIONS
from tests.conftest import World

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The test client connects from 127.0.0.1: here that is the proxy.
    return settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.0/8")]})


async def failed_login_ips(client: TestClient) -> list[str | None]:
    async with client.app[SESSIONS]() as db:
        rows = await db.scalars(
            select(AuditLog.ip)
            .where(AuditLog.action == "auth.login", AuditLog.status == "failed")
            .order_by(AuditLog.id)
        )
        return list(rows)


async def test_the_audit_log_names_the_client_behind_the_proxy(
    client: TestClient, world: World
) -> None:
    body = {"email": world.alice.email, "password": "Wrong-password-1!"}
    for forwarded in ("203.0.113.7", "198.51.100.1, 203.0.113.8", "203.0.113.9, 127.0.0.1"):
        response = await client.post(LOGIN, json=body, headers={"X-Forwarded-For": forwarded})
        assert response.status == 401
    # The last address that is not a trusted proxy: earlier ones a client may have made up.
    assert await failed_login_ips(client) == ["203.0.113.7", "203.0.113.8", "203.0.113.9"]


async def test_garbage_in_the_header_keeps_the_peers_address(
    client: TestClient, world: World
) -> None:
    body = {"email": world.alice.email, "password": "Wrong-password-1!"}
    await client.post(LOGIN, json=body, headers={"X-Forwarded-For": "not-an-address"})
    assert await failed_login_ips(client) == ["127.0.0.1"]


async def test_without_trusted_proxies_the_header_is_ignored(
    client: TestClient, world: World, settings: Settings
) -> None:
    plain = settings.model_copy(update={"trusted_proxies": []})
    async with TestClient(TestServer(build_app(plain), host="127.0.0.1")) as direct:
        body = {"email": world.alice.email, "password": "Wrong-password-1!"}
        await direct.post(LOGIN, json=body, headers={"X-Forwarded-For": "203.0.113.7"})
        assert await failed_login_ips(direct) == ["127.0.0.1"]
