"""API keys (org-scoped, role-capped, shown once) and signed-in sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from server.audit.models import AuditLog
from server.auth.models import ApiKey
from server.context import SESSIONS
from tests.builders import PASSWORD
from tests.conftest import World

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_key(
    client: TestClient,
    headers: dict[str, str],
    **body: Any,
) -> Any:
    return await client.post(f"{API}/auth/api-keys", json={"name": "ci", **body}, headers=headers)


async def actions(client: TestClient) -> list[str]:
    async with client.app[SESSIONS]() as session:
        return list((await session.execute(select(AuditLog.action))).scalars())


async def test_api_key_is_shown_once_and_masked_after(client: TestClient, world: World) -> None:
    response = await create_key(client, world.alice.headers)
    assert response.status == 201
    created = await response.json()
    assert created["key"].startswith("upk_")
    assert created["role"] == "superadmin"
    assert created["hint"] == "upk_****" + created["key"][-4:]
    listed = await (await client.get(f"{API}/auth/api-keys", headers=world.alice.headers)).json()
    assert [key["id"] for key in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert created["key"] not in str(listed)
    assert "api_key.created" in await actions(client)


async def test_api_key_works_as_bearer(client: TestClient, world: World) -> None:
    key = (await (await create_key(client, world.alice.headers, role="viewer")).json())["key"]
    me = await (await client.get(f"{API}/auth/me", headers=bearer(key))).json()
    assert me["user"]["id"] == world.alice.user_id
    assert me["organization"]["id"] == world.org_a
    assert me["role"] == "viewer"


async def test_viewer_key_cannot_mint_a_stronger_key(client: TestClient, world: World) -> None:
    key = (await (await create_key(client, world.alice.headers, role="viewer")).json())["key"]
    response = await create_key(client, bearer(key), role="superadmin")
    assert response.status == 403


async def test_key_role_may_not_exceed_the_creators(client: TestClient, world: World) -> None:
    response = await create_key(client, world.bob.headers, role="admin")
    assert response.status == 403
    response = await create_key(client, world.bob.headers)
    assert response.status == 201
    assert (await response.json())["role"] == "viewer"


async def test_key_in_the_past_is_400(client: TestClient, world: World) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = await create_key(client, world.alice.headers, expires_at=past)
    assert response.status == 400


async def test_revoked_api_key_is_401(client: TestClient, world: World) -> None:
    created = await (await create_key(client, world.alice.headers)).json()
    response = await client.delete(
        f"{API}/auth/api-keys/{created['id']}", headers=world.alice.headers
    )
    assert response.status == 204
    assert (await client.get(f"{API}/auth/me", headers=bearer(created["key"]))).status == 401
    assert "api_key.revoked" in await actions(client)


async def test_expired_api_key_is_401(client: TestClient, world: World) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    created = await (await create_key(client, world.alice.headers, expires_at=soon)).json()
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == created["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = await client.get(f"{API}/auth/me", headers=bearer(created["key"]))
    assert response.status == 401
    assert "expired" in (await response.json())["detail"]


async def test_carol_cannot_see_or_revoke_alices_keys(client: TestClient, world: World) -> None:
    created = await (await create_key(client, world.alice.headers)).json()
    listed = await (await client.get(f"{API}/auth/api-keys", headers=world.carol.headers)).json()
    assert listed == []
    response = await client.delete(
        f"{API}/auth/api-keys/{created['id']}", headers=world.carol.headers
    )
    assert response.status == 404
    assert (await client.get(f"{API}/auth/me", headers=bearer(created["key"]))).status == 200


async def test_viewer_cannot_revoke_another_members_key(client: TestClient, world: World) -> None:
    created = await (await create_key(client, world.alice.headers)).json()
    response = await client.delete(
        f"{API}/auth/api-keys/{created['id']}", headers=world.bob.headers
    )
    assert response.status == 404


async def test_superadmin_can_revoke_a_members_key(client: TestClient, world: World) -> None:
    created = await (await create_key(client, world.bob.headers)).json()
    listed = await (await client.get(f"{API}/auth/api-keys", headers=world.alice.headers)).json()
    assert created["id"] in [key["id"] for key in listed]
    response = await client.delete(
        f"{API}/auth/api-keys/{created['id']}", headers=world.alice.headers
    )
    assert response.status == 204


async def test_sessions_list_marks_the_current_one(client: TestClient, world: World) -> None:
    await client.post(
        f"{API}/auth/login",
        json={"email": "alice@example.com", "password": PASSWORD},
        headers={"User-Agent": "upmetr-console/1.0"},
    )
    listed = await (await client.get(f"{API}/auth/sessions", headers=world.alice.headers)).json()
    assert len(listed) == 2
    assert [session["current"] for session in listed].count(True) == 1
    assert "upmetr-console/1.0" in [session["user_agent"] for session in listed]
    assert all(session["ip"] == "127.0.0.1" for session in listed)


async def test_revoking_a_session_signs_it_out(client: TestClient, world: World) -> None:
    other = await (
        await client.post(
            f"{API}/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )
    ).json()
    listed = await (await client.get(f"{API}/auth/sessions", headers=world.alice.headers)).json()
    (target,) = [session for session in listed if not session["current"]]
    response = await client.delete(
        f"{API}/auth/sessions/{target['id']}", headers=world.alice.headers
    )
    assert response.status == 204
    assert (await client.get(f"{API}/auth/me", headers=bearer(other["access_token"]))).status == 401
    assert (await client.get(f"{API}/auth/me", headers=world.alice.headers)).status == 200
    assert "auth.session_revoked" in await actions(client)


async def test_carol_cannot_see_or_revoke_alices_sessions(client: TestClient, world: World) -> None:
    alices = await (await client.get(f"{API}/auth/sessions", headers=world.alice.headers)).json()
    carols = await (await client.get(f"{API}/auth/sessions", headers=world.carol.headers)).json()
    assert not {s["id"] for s in alices} & {s["id"] for s in carols}
    response = await client.delete(
        f"{API}/auth/sessions/{alices[0]['id']}", headers=world.carol.headers
    )
    assert response.status == 404
    assert (await client.get(f"{API}/auth/me", headers=world.alice.headers)).status == 200
