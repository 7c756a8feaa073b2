"""Access tokens, refresh-token rotation, sign-out and organization switching."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select, update

from server.audit.models import AuditLog
from server.auth.tokens import issue_jwt
from server.context import KEYS, SESSIONS
from server.orgs.models import Membership, Organization
from tests.builders import add_member
from tests.conftest import World

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def execute(client: TestClient, statement: Any) -> None:
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(statement)


async def audit_actions(client: TestClient) -> list[tuple[str, str]]:
    async with client.app[SESSIONS]() as session:
        rows = (await session.execute(select(AuditLog.action, AuditLog.status))).all()
    return [(row.action, row.status) for row in rows]


async def refresh(client: TestClient, token: str) -> Any:
    return await client.post(f"{API}/auth/refresh", json={"refresh_token": token})


async def test_access_token_carries_user_org_and_session(world: World) -> None:
    claims = claims_of(world.alice.access_token)
    assert claims["sub"] == str(world.alice.user_id)
    assert claims["org"] == world.org_a
    assert claims["typ"] == "access"
    assert isinstance(claims["sid"], int)


async def test_missing_token_is_401(client: TestClient, world: World) -> None:
    response = await client.get(f"{API}/auth/me")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_expired_access_token_is_401(client: TestClient, world: World) -> None:
    claims = claims_of(world.alice.access_token)
    token = issue_jwt(
        client.app[KEYS].jwt_secret,
        subject=world.alice.user_id,
        purpose="access",
        ttl=timedelta(seconds=-5),
        org=claims["org"],
        sid=claims["sid"],
    )
    response = await client.get(f"{API}/auth/me", headers=bearer(token))
    assert response.status == 401
    assert (await response.json())["detail"] == "Token has expired"


async def test_token_with_wrong_signature_is_401(client: TestClient, world: World) -> None:
    claims = claims_of(world.alice.access_token)
    forged = issue_jwt(
        "not-the-server-secret-but-long-enough-for-hs256",
        subject=world.alice.user_id,
        purpose="access",
        ttl=timedelta(minutes=5),
        org=claims["org"],
        sid=claims["sid"],
    )
    response = await client.get(f"{API}/auth/me", headers=bearer(forged))
    assert response.status == 401


async def test_alg_none_token_is_401(client: TestClient, world: World) -> None:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = claims_of(world.alice.access_token)
    unsigned = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
    response = await client.get(f"{API}/auth/me", headers=bearer(unsigned))
    assert response.status == 401


async def test_token_of_another_purpose_is_401(client: TestClient, world: World) -> None:
    claims = claims_of(world.alice.access_token)
    mfa_token = issue_jwt(
        client.app[KEYS].jwt_secret,
        subject=world.alice.user_id,
        purpose="mfa",
        ttl=timedelta(minutes=5),
        org=claims["org"],
        sid=claims["sid"],
    )
    response = await client.get(f"{API}/auth/me", headers=bearer(mfa_token))
    assert response.status == 401


async def test_garbage_token_is_401(client: TestClient, world: World) -> None:
    response = await client.get(f"{API}/auth/me", headers=bearer("not.a.jwt"))
    assert response.status == 401


async def test_refresh_rotates_the_pair(client: TestClient, world: World) -> None:
    response = await refresh(client, world.alice.refresh_token)
    assert response.status == 200
    pair = await response.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 30 * 60
    assert pair["refresh_token"] != world.alice.refresh_token
    assert (await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))).status == 200
    again = await refresh(client, pair["refresh_token"])
    assert again.status == 200


async def test_unknown_refresh_token_is_401(client: TestClient, world: World) -> None:
    response = await refresh(client, "no-such-token")
    assert response.status == 401


async def test_refresh_token_reuse_revokes_the_whole_family(
    client: TestClient,
    world: World,
) -> None:
    first = await (await refresh(client, world.alice.refresh_token)).json()
    reused = await refresh(client, world.alice.refresh_token)
    assert reused.status == 401
    assert "already used" in (await reused.json())["detail"]
    # The thief's and the owner's tokens die together: new refresh token and access tokens.
    assert (await refresh(client, first["refresh_token"])).status == 401
    for token in (first["access_token"], world.alice.access_token):
        response = await client.get(f"{API}/auth/me", headers=bearer(token))
        assert response.status == 401
    assert ("auth.refresh_reuse", "failed") in await audit_actions(client)
    # Other people's sessions are untouched.
    assert (await client.get(f"{API}/auth/me", headers=world.bob.headers)).status == 200


async def test_refresh_of_expired_session_is_401(client: TestClient, world: World) -> None:
    from datetime import UTC, datetime

    from server.auth.models import AuthSession

    sid = claims_of(world.alice.access_token)["sid"]
    await execute(
        client,
        update(AuthSession)
        .where(AuthSession.id == sid)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)),
    )
    response = await refresh(client, world.alice.refresh_token)
    assert response.status == 401
    assert "expired" in (await response.json())["detail"]


async def test_logout_revokes_the_session(client: TestClient, world: World) -> None:
    response = await client.post(
        f"{API}/auth/logout", json={"refresh_token": world.alice.refresh_token}
    )
    assert response.status == 204
    assert (await client.get(f"{API}/auth/me", headers=world.alice.headers)).status == 401
    assert (await refresh(client, world.alice.refresh_token)).status == 401
    assert ("auth.logout", "success") in await audit_actions(client)


async def test_logout_with_unknown_token_is_still_204(client: TestClient, world: World) -> None:
    response = await client.post(f"{API}/auth/logout", json={"refresh_token": "unknown"})
    assert response.status == 204


async def test_user_removed_from_org_gets_401(client: TestClient, world: World) -> None:
    await execute(
        client,
        delete(Membership).where(
            Membership.user_id == world.bob.user_id, Membership.org_id == world.org_a
        ),
    )
    response = await client.get(f"{API}/auth/me", headers=world.bob.headers)
    assert response.status == 401
    assert "no longer a member" in (await response.json())["detail"]
    assert (await refresh(client, world.bob.refresh_token)).status == 401


async def test_suspended_org_is_403(client: TestClient, world: World) -> None:
    await execute(
        client,
        update(Organization).where(Organization.id == world.org_a).values(status="suspended"),
    )
    response = await client.get(f"{API}/auth/me", headers=world.alice.headers)
    assert response.status == 403
    assert "suspended" in (await response.json())["detail"]
    assert (await client.get(f"{API}/auth/me", headers=world.carol.headers)).status == 200


async def test_me_shows_user_org_role_and_plan(client: TestClient, world: World) -> None:
    me = await (await client.get(f"{API}/auth/me", headers=world.bob.headers)).json()
    assert me["user"]["email"] == "bob@example.com"
    assert me["organization"]["id"] == world.org_a
    assert me["role"] == "viewer"
    assert me["plan"]["code"] == "enterprise"
    assert "audit_logs" in me["plan"]["modules"]
    assert "password_hash" not in json.dumps(me)


async def test_select_org_scopes_tokens_to_a_member_org(
    client: TestClient,
    world: World,
) -> None:
    async with client.app[SESSIONS]() as session, session.begin():
        org_b = await session.get(Organization, world.org_b)
        from server.users.models import User

        alice = await session.get(User, world.alice.user_id)
        assert org_b is not None and alice is not None
        await add_member(session, alice, org_b, "viewer")
    orgs = await (await client.get(f"{API}/auth/organizations", headers=world.alice.headers)).json()
    assert {(org["id"], org["role"]) for org in orgs} == {
        (world.org_a, "superadmin"),
        (world.org_b, "viewer"),
    }
    response = await client.post(
        f"{API}/auth/select-org", json={"organization_id": world.org_b}, headers=world.alice.headers
    )
    assert response.status == 200
    pair = await response.json()
    me = await (await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))).json()
    assert me["organization"]["id"] == world.org_b
    assert me["role"] == "viewer"


async def test_select_org_of_another_org_is_404(client: TestClient, world: World) -> None:
    response = await client.post(
        f"{API}/auth/select-org", json={"organization_id": world.org_b}, headers=world.alice.headers
    )
    assert response.status == 404
