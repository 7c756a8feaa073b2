"""Rate limits at the contract's defaults: 60/minute per user or API key, 20/minute per IP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from server.app import build_app
from server.audit.models import AuditLog
from server.auth.models import ApiKey
from server.auth.tokens import hash_secret, new_secret
from server.config import Settings
from server.context import SESSIONS
from tests.builders import Person, add_member, create_org, create_user
from tests.conftest import sign_in

USER_LIMIT = 60
ANON_LIMIT = 20
CHEAP = "/api/v1/billing/plans"
LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@dataclass
class Limited:
    client: TestClient  # type: ignore[type-arg]
    alice: Person
    carol: Person


@pytest.fixture
async def limited(settings: Settings, password_hash: str) -> AsyncIterator[Limited]:
    """A server of its own with default-like limits, and two users of two orgs signed in."""
    strict = settings.model_copy(
        update={
            "rate_limit_user": f"{USER_LIMIT}/minute",
            "rate_limit_anon": f"{ANON_LIMIT}/minute",
        }
    )
    async with TestClient(TestServer(build_app(strict), host="127.0.0.1")) as client:
        people = []
        async with client.app[SESSIONS]() as db, db.begin():
            for name in ("alice", "carol"):
                org = await create_org(db, f"Org {name}")
                user = await create_user(db, f"{name}@example.com", password_hash=password_hash)
                await add_member(db, user, org, "superadmin")
                people.append(
                    Person(email=user.email, user_id=user.id, org_id=org.id, role="superadmin")
                )
        for person in people:  # two anonymous requests of the 20
            await sign_in(client, person)
        yield Limited(client, *people)


async def spend(client: TestClient, count: int, **kwargs: object) -> None:  # type: ignore[type-arg]
    for n in range(count):
        response = await client.get(CHEAP, **kwargs)  # type: ignore[arg-type]
        assert response.status != 429, f"limited after {n} requests"


async def test_the_61st_request_of_a_user_in_a_minute_is_429(limited: Limited) -> None:
    client, alice = limited.client, limited.alice
    await spend(client, USER_LIMIT, headers=alice.headers)
    response = await client.get(CHEAP, headers=alice.headers)
    assert response.status == 429
    body = await response.json()
    assert "Rate limit exceeded" in body["detail"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response.headers["X-RateLimit-Limit"] == str(USER_LIMIT)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
    # Every route shares the user's bucket.
    assert (await client.get("/api/v1/auth/me", headers=alice.headers)).status == 429


async def test_remaining_counts_down(limited: Limited) -> None:
    client, alice = limited.client, limited.alice
    first = await client.get(CHEAP, headers=alice.headers)
    second = await client.get(CHEAP, headers=alice.headers)
    remaining = int(first.headers["X-RateLimit-Remaining"])
    assert remaining == USER_LIMIT - 1
    assert int(second.headers["X-RateLimit-Remaining"]) == remaining - 1


async def test_every_response_carries_the_limit_headers(limited: Limited) -> None:
    client, alice = limited.client, limited.alice
    requests = [
        ("GET", CHEAP, alice.headers, None, 200),
        ("GET", "/api/v1/audit-logs/export", alice.headers, None, 200),
        ("GET", "/api/v1/audit-logs/99999", alice.headers, None, 404),
        ("GET", "/api/v1/audit-logs?per_page=7", alice.headers, None, 400),
        ("GET", "/api/v1/no-such-route", alice.headers, None, 404),
        ("DELETE", CHEAP, alice.headers, None, 405),
        ("GET", CHEAP, {}, None, 401),
        ("GET", CHEAP, {"Authorization": "Bearer not-a-token"}, None, 401),
        ("POST", "/api/v1/auth/login", {}, b"{not json", 400),
    ]
    for method, path, headers, data, status in requests:
        response = await client.request(method, path, headers=headers, data=data)
        assert response.status == status, (method, path, await response.text())
        await response.read()
        for name in LIMIT_HEADERS:
            assert name in response.headers, (method, path, name)


async def test_the_21st_anonymous_request_from_an_ip_is_429(limited: Limited) -> None:
    client, alice = limited.client, limited.alice
    await spend(client, ANON_LIMIT - 2)  # sign-ins of the fixture took two
    response = await client.get(CHEAP)
    assert response.status == 429
    assert response.headers["X-RateLimit-Limit"] == str(ANON_LIMIT)
    assert int(response.headers["Retry-After"]) >= 1
    assert "detail" in await response.json()
    # A bad token counts as anonymous; a signed-in user has a bucket of their own.
    bad = await client.get(CHEAP, headers={"Authorization": "Bearer nonsense"})
    assert bad.status == 429
    ok = await client.get(CHEAP, headers=alice.headers)
    assert ok.status == 200
    assert ok.headers["X-RateLimit-Limit"] == str(USER_LIMIT)


async def test_one_user_limited_does_not_limit_another(limited: Limited) -> None:
    client, alice, carol = limited.client, limited.alice, limited.carol
    await spend(client, USER_LIMIT, headers=alice.headers)
    assert (await client.get(CHEAP, headers=alice.headers)).status == 429
    response = await client.get(CHEAP, headers=carol.headers)
    assert response.status == 200
    assert response.headers["X-RateLimit-Remaining"] == str(USER_LIMIT - 1)


async def test_an_api_key_has_a_bucket_of_its_own(limited: Limited) -> None:
    client, alice = limited.client, limited.alice
    key = new_secret("upk_")
    async with client.app[SESSIONS]() as db, db.begin():
        db.add(
            ApiKey(
                org_id=alice.org_id,
                user_id=alice.user_id,
                name="ci",
                role="viewer",
                key_hash=hash_secret(key),
                last_four=key[-4:],
            )
        )
    await spend(client, USER_LIMIT, headers=alice.headers)
    assert (await client.get(CHEAP, headers=alice.headers)).status == 429
    with_key = {"Authorization": f"Bearer {key}"}
    response = await client.get(CHEAP, headers=with_key)
    assert response.status == 200
    assert response.headers["X-RateLimit-Remaining"] == str(USER_LIMIT - 1)
    await spend(client, USER_LIMIT - 1, headers=with_key)
    assert (await client.get(CHEAP, headers=with_key)).status == 429


async def test_an_api_key_made_through_the_api_is_limited_apart(limited: Limited) -> None:
    client, alice = limited.client, limited.alice
    created = await client.post(
        "/api/v1/auth/api-keys", json={"name": "script"}, headers=alice.headers
    )
    assert created.status == 201, await created.text()
    with_key = {"Authorization": f"Bearer {(await created.json())['key']}"}
    await spend(client, USER_LIMIT - 1, headers=alice.headers)
    assert (await client.get(CHEAP, headers=alice.headers)).status == 429
    assert (await client.get(CHEAP, headers=with_key)).status == 200


async def test_being_limited_is_audited_once_a_minute(limited: Limited) -> None:
    client, alice = limited.client, limited.alice
    await spend(client, USER_LIMIT, headers=alice.headers)
    for _ in range(5):
        assert (await client.get(CHEAP, headers=alice.headers)).status == 429
    await spend(client, ANON_LIMIT - 2)
    assert (await client.get("/api/v1/no-such-route")).status == 429
    async with client.app[SESSIONS]() as db:
        entries = (
            await db.scalars(select(AuditLog).where(AuditLog.action == "rate_limit.exceeded"))
        ).all()
    mine = [entry for entry in entries if entry.user_id == alice.user_id]
    assert len(mine) == 1
    assert mine[0].org_id == alice.org_id
    assert mine[0].status == "failed"
    assert mine[0].detail == f"GET {CHEAP}"
    anonymous = [entry for entry in entries if entry.user_id is None]
    assert len(anonymous) == 1
    assert anonymous[0].ip == "127.0.0.1"
    assert anonymous[0].org_id is None
