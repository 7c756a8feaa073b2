"""Registration, password sign-in, failed-login throttling, password change and bootstrap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from server.app import build_app
from server.audit.models import AuditLog
from server.auth.bootstrap import create_account
from server.auth.tokens import hash_secret
from server.config import Settings
from server.context import SESSIONS
from server.http.errors import BadRequest, Conflict
from server.orgs.models import Membership
from server.users.models import Invitation
from tests.builders import PASSWORD, add_member, create_org, create_user
from tests.conftest import World

API = "/api/v1"
NEW_PASSWORD = "Another-Secret-77?"


@asynccontextmanager
async def server_with(settings: Settings, **changes: Any) -> AsyncIterator[TestClient]:
    app = build_app(settings.model_copy(update=changes))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def login(client: TestClient, email: str, password: str) -> Any:
    return await client.post(f"{API}/auth/login", json={"email": email, "password": password})


async def audit_rows(client: TestClient, action: str) -> list[Any]:
    async with client.app[SESSIONS]() as session:
        return list(
            (await session.execute(select(AuditLog).where(AuditLog.action == action))).scalars()
        )


def registration(**changes: Any) -> dict[str, Any]:
    return {
        "email": "Dana@Example.com",
        "password": PASSWORD,
        "full_name": "Dana Scully",
        **changes,
    }


async def test_register_creates_account_and_org_on_default_plan(
    client: TestClient,
) -> None:
    response = await client.post(f"{API}/auth/register", json=registration())
    assert response.status == 201
    body = await response.json()
    assert body["user"]["email"] == "dana@example.com"
    assert body["token_type"] == "bearer" and body["refresh_token"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    me = await (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["organization"]["name"] == "Dana Scully's organization"
    assert me["role"] == "superadmin"
    assert me["plan"]["code"] == "self_hosted"  # Settings.default_plan unless configured
    assert len(await audit_rows(client, "auth.register")) == 1


async def test_a_hosted_server_registers_new_organizations_on_its_configured_plan(
    settings: Settings,
) -> None:
    async with server_with(settings, default_plan="free") as client:
        body = await (await client.post(f"{API}/auth/register", json=registration())).json()
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        me = await (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["plan"]["code"] == "free"


async def test_register_uses_the_given_organization_name(client: TestClient) -> None:
    response = await client.post(
        f"{API}/auth/register", json=registration(organization_name="X-Files")
    )
    headers = {"Authorization": f"Bearer {(await response.json())['access_token']}"}
    me = await (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["organization"]["name"] == "X-Files"


async def test_register_with_weak_password_is_400_naming_password(
    client: TestClient,
) -> None:
    response = await client.post(f"{API}/auth/register", json=registration(password="short"))
    assert response.status == 400
    detail = (await response.json())["detail"]
    assert "password" in detail and "12 characters" in detail


async def test_register_with_existing_email_is_409(client: TestClient, world: World) -> None:
    response = await client.post(
        f"{API}/auth/register", json=registration(email="ALICE@example.com")
    )
    assert response.status == 409


async def test_register_with_bad_email_is_400(client: TestClient) -> None:
    response = await client.post(f"{API}/auth/register", json=registration(email="nope"))
    assert response.status == 400
    assert "email" in (await response.json())["detail"]


async def test_register_with_invitation_joins_that_org(client: TestClient, world: World) -> None:
    async with client.app[SESSIONS]() as session, session.begin():
        session.add(
            Invitation(
                org_id=world.org_a,
                email="dana@example.com",
                role="admin",
                token_hash=hash_secret("invite-token"),
                invited_by_id=world.alice.user_id,
                expires_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
    response = await client.post(
        f"{API}/auth/register", json=registration(invitation_token="invite-token")
    )
    assert response.status == 201, await response.text()
    headers = {"Authorization": f"Bearer {(await response.json())['access_token']}"}
    me = await (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["organization"]["id"] == world.org_a
    assert me["role"] == "admin"


async def test_login_is_case_insensitive_on_email(client: TestClient, world: World) -> None:
    response = await login(client, "Alice@Example.COM", PASSWORD)
    assert response.status == 200
    assert len(await audit_rows(client, "auth.login")) >= 1


async def test_wrong_password_and_unknown_email_get_the_same_401(
    client: TestClient,
    world: World,
) -> None:
    wrong = await login(client, "alice@example.com", "Wrong-Password-1!")
    unknown = await login(client, "nobody@example.com", "Wrong-Password-1!")
    assert wrong.status == unknown.status == 401
    assert await wrong.json() == await unknown.json() == {"detail": "Invalid email or password"}
    failed = [row for row in await audit_rows(client, "auth.login") if row.status == "failed"]
    assert {row.user_email for row in failed} == {"alice@example.com", "nobody@example.com"}


async def test_user_without_any_org_gets_403(client: TestClient, password_hash: str) -> None:
    async with client.app[SESSIONS]() as session, session.begin():
        await create_user(session, "loner@example.com", password_hash=password_hash)
    response = await login(client, "loner@example.com", PASSWORD)
    assert response.status == 403
    assert "organization" in (await response.json())["detail"]


async def test_login_lands_in_the_most_recently_used_org(client: TestClient, world: World) -> None:
    async with client.app[SESSIONS]() as session, session.begin():
        session.add(Membership(user_id=world.alice.user_id, org_id=world.org_b, role="viewer"))
    switched = await client.post(
        f"{API}/auth/select-org", json={"organization_id": world.org_b}, headers=world.alice.headers
    )
    assert switched.status == 200
    tokens = await (await login(client, "alice@example.com", PASSWORD)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["organization"]["id"] == world.org_b


async def test_failed_logins_are_throttled_even_with_the_right_password(
    settings: Settings, password_hash: str
) -> None:
    async with server_with(settings, login_failure_limit="3/minute") as client:
        async with client.app[SESSIONS]() as session, session.begin():
            org = await create_org(session, "T", plan="free")
            user = await create_user(session, "erin@example.com", password_hash=password_hash)
            await add_member(session, user, org, "superadmin")
        for _ in range(3):
            assert (await login(client, "erin@example.com", "Wrong-Password-1!")).status == 401
        blocked = await login(client, "ERIN@example.com", PASSWORD)
        assert blocked.status == 429
        # A wait of seconds, doubling with each further failure; never the whole window.
        assert int(blocked.headers["Retry-After"]) == 1
        assert "failed sign-in attempts" in (await blocked.json())["detail"]


async def test_unknown_accounts_are_throttled_alike(settings: Settings) -> None:
    async with server_with(settings, login_failure_limit="2/minute") as client:
        for _ in range(2):
            assert (await login(client, "ghost@example.com", "Wrong-Password-1!")).status == 401
        blocked = await login(client, "ghost@example.com", "Wrong-Password-1!")
        assert blocked.status == 429
        assert "Retry-After" in blocked.headers


async def test_failures_from_one_ip_are_throttled_across_accounts(settings: Settings) -> None:
    async with server_with(settings, login_failure_limit_ip="2/minute") as client:
        assert (await login(client, "one@example.com", "Wrong-Password-1!")).status == 401
        assert (await login(client, "two@example.com", "Wrong-Password-1!")).status == 401
        assert (await login(client, "three@example.com", "Wrong-Password-1!")).status == 429


async def test_successful_logins_do_not_count_towards_the_throttle(
    settings: Settings, password_hash: str
) -> None:
    async with server_with(settings, login_failure_limit="2/minute") as client:
        async with client.app[SESSIONS]() as session, session.begin():
            org = await create_org(session, "T", plan="free")
            user = await create_user(session, "fay@example.com", password_hash=password_hash)
            await add_member(session, user, org, "viewer")
        for _ in range(4):
            assert (await login(client, "fay@example.com", PASSWORD)).status == 200


async def test_password_change_needs_the_current_password(client: TestClient, world: World) -> None:
    response = await client.post(
        f"{API}/auth/password/change",
        json={"current_password": "Wrong-Password-1!", "new_password": NEW_PASSWORD},
        headers=world.alice.headers,
    )
    assert response.status == 400
    assert "current_password" in (await response.json())["detail"]


async def test_password_change_enforces_the_policy(client: TestClient, world: World) -> None:
    response = await client.post(
        f"{API}/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "weakweakweakweak"},
        headers=world.alice.headers,
    )
    assert response.status == 400
    assert "new_password" in (await response.json())["detail"]


async def test_password_change_signs_out_other_sessions(client: TestClient, world: World) -> None:
    other = await (await login(client, "alice@example.com", PASSWORD)).json()
    response = await client.post(
        f"{API}/auth/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=world.alice.headers,
    )
    assert response.status == 204
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await client.get(f"{API}/auth/me", headers=other_headers)).status == 401
    assert (await client.get(f"{API}/auth/me", headers=world.alice.headers)).status == 200
    assert (await login(client, "alice@example.com", PASSWORD)).status == 401
    assert (await login(client, "alice@example.com", NEW_PASSWORD)).status == 200
    assert len(await audit_rows(client, "auth.password_changed")) == 1


async def test_bootstrap_creates_a_superadmin_account(settings: Settings) -> None:
    user_id, org_id = await create_account(
        settings,
        email="Root@Example.com",
        password=PASSWORD,
        full_name=None,
        org_name="Ops",
        platform_admin=True,
    )
    async with server_with(settings) as client:
        tokens = await (await login(client, "root@example.com", PASSWORD)).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = await (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["user"]["id"] == user_id and me["user"]["is_platform_admin"] is True
    assert me["organization"] == {"id": org_id, "name": "Ops", "slug": "ops", "role": "superadmin"}
    assert me["plan"]["code"] == settings.default_plan


async def test_bootstrap_refuses_duplicates_and_weak_passwords(settings: Settings) -> None:
    kwargs: dict[str, Any] = {"full_name": "Root", "org_name": None, "platform_admin": False}
    await create_account(settings, email="root@example.com", password=PASSWORD, **kwargs)
    with pytest.raises(Conflict):
        await create_account(settings, email="ROOT@example.com", password=PASSWORD, **kwargs)
    with pytest.raises(BadRequest):
        await create_account(settings, email="other@example.com", password="weak", **kwargs)
