"""Invitations: emailed registration links (a real SMTP server on 127.0.0.1), joining at
once for existing accounts, revoke, resend and accept."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import build_app
from server.audit.models import AuditLog
from server.config import Settings
from server.orgs.models import Membership
from server.users.models import Invitation
from tests.builders import PASSWORD, add_member, create_org, create_user
from tests.conftest import World
from tests.mail import Inbox, sending_to

INVITATIONS = "/api/v1/users/invitations"
LINK = re.compile(r"/register\?invitation=([A-Za-z0-9_-]+)")


@pytest.fixture
async def mail_client(
    settings: Settings, smtp: tuple[Inbox, int], world: World
) -> AsyncIterator[TestClient]:
    """A second server on the same database that sends email to the local SMTP server."""
    _, port = smtp
    app = build_app(sending_to(settings, port, "https://upmetr.test"))
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


def _body(message: EmailMessage) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def _invite(
    client: TestClient, headers: dict[str, str], email: str, role: str = "viewer"
) -> Any:
    response = await client.post(INVITATIONS, json={"email": email, "role": role}, headers=headers)
    assert response.status == 201, await response.text()
    return await response.json()


async def _register(client: TestClient, email: str, token: str) -> Any:
    return await client.post(
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "full_name": "Dave",
            "invitation_token": token,
        },
    )


async def _sign_up_and_in(
    db: AsyncSession, client: TestClient, email: str, password_hash: str
) -> dict[str, str]:
    """An account in an org of its own, signed in there."""
    async with db.begin():
        org = await create_org(db, f"Home of {email}")
        user = await create_user(db, email, password_hash=password_hash)
        await add_member(db, user, org, "superadmin")
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status == 200, await login.text()
    return {"Authorization": f"Bearer {(await login.json())['access_token']}"}


async def _actions(db: AsyncSession, org_id: int) -> list[str]:
    rows = await db.execute(select(AuditLog.action).where(AuditLog.org_id == org_id))
    return list(rows.scalars())


async def test_invitation_email_carries_a_registration_link(
    mail_client: TestClient, world: World, smtp: tuple[Inbox, int], db: AsyncSession
) -> None:
    inbox, _ = smtp
    invitation = await _invite(mail_client, world.alice.headers, "Dave@Example.com", "admin")
    assert (invitation["email"], invitation["role"], invitation["status"]) == (
        "dave@example.com",
        "admin",
        "pending",
    )
    assert invitation["invited_by_email"] == "alice@example.com"
    (message,) = await inbox.wait_for("dave@example.com")
    assert "Org A" in message["Subject"]
    body = _body(message)
    assert "https://upmetr.test/register?invitation=" in body
    token = LINK.search(body).group(1)  # type: ignore[union-attr]
    stored = (await db.execute(select(Invitation.token_hash))).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored

    registered = await _register(mail_client, "dave@example.com", token)
    assert registered.status == 201, await registered.text()
    headers = {"Authorization": f"Bearer {(await registered.json())['access_token']}"}
    me = await mail_client.get("/api/v1/auth/me", headers=headers)
    assert (await me.json())["organization"]["id"] == world.org_a
    listed = await mail_client.get(INVITATIONS, headers=world.alice.headers)
    assert [i["status"] for i in await listed.json()] == ["accepted"]
    assert {"invitation.created", "invitation.accepted"} <= set(await _actions(db, world.org_a))


async def test_invitation_expires_after_configured_days(
    client: TestClient, world: World, settings: Settings
) -> None:
    invitation = await _invite(client, world.alice.headers, "dave@example.com")
    created = datetime.fromisoformat(invitation["created_at"])
    expires = datetime.fromisoformat(invitation["expires_at"])
    assert expires - created == timedelta(days=settings.invitation_days)


async def test_invited_existing_account_joins_at_once(
    mail_client: TestClient, world: World, smtp: tuple[Inbox, int], db: AsyncSession
) -> None:
    inbox, _ = smtp
    invitation = await _invite(mail_client, world.alice.headers, "carol@example.com", "admin")
    assert invitation["status"] == "accepted"
    assert invitation["accepted_at"] is not None
    membership = (
        await db.execute(
            select(Membership).where(
                Membership.user_id == world.carol.user_id, Membership.org_id == world.org_a
            )
        )
    ).scalar_one()
    assert membership.role == "admin"
    (message,) = await inbox.wait_for("carol@example.com")
    assert "added" in message["Subject"] and "Org A" in message["Subject"]
    assert "register?invitation" not in _body(message)


async def test_viewer_cannot_invite_members(client: TestClient, world: World) -> None:
    response = await client.post(
        INVITATIONS, json={"email": "x@example.com", "role": "viewer"}, headers=world.bob.headers
    )
    assert response.status == 403
    assert (await client.get(INVITATIONS, headers=world.bob.headers)).status == 403


async def test_inviting_a_member_or_twice_is_409(client: TestClient, world: World) -> None:
    body = {"email": "BOB@example.com", "role": "viewer"}
    response = await client.post(INVITATIONS, json=body, headers=world.alice.headers)
    assert response.status == 409
    await _invite(client, world.alice.headers, "dave@example.com")
    again = {"email": "dave@example.com", "role": "admin"}
    response = await client.post(INVITATIONS, json=again, headers=world.alice.headers)
    assert response.status == 409
    assert "pending" in (await response.json())["detail"]


async def test_invitation_rejects_a_bad_email(client: TestClient, world: World) -> None:
    body = {"email": "not-an-email", "role": "viewer"}
    response = await client.post(INVITATIONS, json=body, headers=world.alice.headers)
    assert response.status == 400
    assert "email" in (await response.json())["detail"]


async def test_pending_invitations_count_toward_the_user_limit(
    client: TestClient, world: World, db: AsyncSession, password_hash: str
) -> None:
    async with db.begin():
        org = await create_org(db, "Small", plan="free")
        user = await create_user(db, "erin@example.com", password_hash=password_hash)
        await add_member(db, user, org, "superadmin")
    login = await client.post(
        "/api/v1/auth/login", json={"email": "erin@example.com", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    await _invite(client, headers, "one@example.com")
    await _invite(client, headers, "two@example.com")
    response = await client.post(
        INVITATIONS, json={"email": "three@example.com", "role": "viewer"}, headers=headers
    )
    assert response.status == 403
    assert "users" in (await response.json())["detail"]
    # Revoking one frees its seat.
    first = (await (await client.get(INVITATIONS, headers=headers)).json())[-1]
    assert (await client.delete(f"{INVITATIONS}/{first['id']}", headers=headers)).status == 204
    await _invite(client, headers, "three@example.com")


async def test_revoked_invitation_cannot_be_used(
    mail_client: TestClient, world: World, smtp: tuple[Inbox, int], db: AsyncSession
) -> None:
    inbox, _ = smtp
    invitation = await _invite(mail_client, world.alice.headers, "dave@example.com")
    (message,) = await inbox.wait_for("dave@example.com")
    token = LINK.search(_body(message)).group(1)  # type: ignore[union-attr]
    response = await mail_client.delete(
        f"{INVITATIONS}/{invitation['id']}", headers=world.alice.headers
    )
    assert response.status == 204
    registered = await _register(mail_client, "dave@example.com", token)
    assert registered.status == 400
    assert "revoked" in (await registered.json())["detail"]
    listed = await mail_client.get(INVITATIONS, headers=world.alice.headers)
    assert [i["status"] for i in await listed.json()] == ["revoked"]
    assert "invitation.revoked" in await _actions(db, world.org_a)
    resend = await mail_client.post(
        f"{INVITATIONS}/{invitation['id']}/resend", headers=world.alice.headers
    )
    assert resend.status == 409


async def test_accepted_invitation_cannot_be_revoked(client: TestClient, world: World) -> None:
    invitation = await _invite(client, world.alice.headers, "carol@example.com")
    response = await client.delete(f"{INVITATIONS}/{invitation['id']}", headers=world.alice.headers)
    assert response.status == 409


async def test_resend_replaces_the_token_and_emails_again(
    mail_client: TestClient,
    world: World,
    smtp: tuple[Inbox, int],
    db: AsyncSession,
    password_hash: str,
) -> None:
    inbox, _ = smtp
    invitation = await _invite(mail_client, world.alice.headers, "dave@example.com")
    await inbox.wait_for("dave@example.com")
    response = await mail_client.post(
        f"{INVITATIONS}/{invitation['id']}/resend", headers=world.alice.headers
    )
    assert response.status == 200
    assert (await response.json())["status"] == "pending"
    first, second = await inbox.wait_for("dave@example.com", count=2)
    old = LINK.search(_body(first)).group(1)  # type: ignore[union-attr]
    new = LINK.search(_body(second)).group(1)  # type: ignore[union-attr]
    assert old != new
    headers = await _sign_up_and_in(db, mail_client, "dave@example.com", password_hash)
    accept = f"{INVITATIONS}/accept"
    assert (await mail_client.post(accept, json={"token": old}, headers=headers)).status == 400
    response = await mail_client.post(accept, json={"token": new}, headers=headers)
    assert response.status == 200, await response.text()
    joined = await response.json()
    assert (joined["id"], joined["role"]) == (world.org_a, "viewer")
    assert "invitation.resent" in await _actions(db, world.org_a)
    # Used once; a second try is a conflict.
    again = await mail_client.post(accept, json={"token": new}, headers=headers)
    assert again.status == 409


async def test_accepting_someone_elses_invitation_is_403(
    mail_client: TestClient, world: World, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    await _invite(mail_client, world.alice.headers, "dave@example.com")
    (message,) = await inbox.wait_for("dave@example.com")
    token = LINK.search(_body(message)).group(1)  # type: ignore[union-attr]
    response = await mail_client.post(
        f"{INVITATIONS}/accept", json={"token": token}, headers=world.carol.headers
    )
    assert response.status == 403
    registered = await _register(mail_client, "mallory@example.com", token)
    assert registered.status == 403


async def test_expired_invitation_is_400_and_can_be_resent(
    mail_client: TestClient,
    world: World,
    smtp: tuple[Inbox, int],
    db: AsyncSession,
    password_hash: str,
) -> None:
    inbox, _ = smtp
    invitation = await _invite(mail_client, world.alice.headers, "dave@example.com")
    (message,) = await inbox.wait_for("dave@example.com")
    token = LINK.search(_body(message)).group(1)  # type: ignore[union-attr]
    async with db.begin():
        await db.execute(
            update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    headers = await _sign_up_and_in(db, mail_client, "dave@example.com", password_hash)
    response = await mail_client.post(
        f"{INVITATIONS}/accept", json={"token": token}, headers=headers
    )
    assert response.status == 400
    assert "expired" in (await response.json())["detail"]
    listed = await mail_client.get(INVITATIONS, headers=world.alice.headers)
    assert [i["status"] for i in await listed.json()] == ["expired"]
    resent = await mail_client.post(
        f"{INVITATIONS}/{invitation['id']}/resend", headers=world.alice.headers
    )
    assert (await resent.json())["status"] == "pending"


async def test_unknown_token_is_400(client: TestClient, world: World) -> None:
    response = await client.post(
        f"{INVITATIONS}/accept", json={"token": "nope"}, headers=world.bob.headers
    )
    assert response.status == 400


async def test_other_org_invitation_is_404(client: TestClient, world: World) -> None:
    invitation = await _invite(client, world.alice.headers, "dave@example.com")
    path = f"{INVITATIONS}/{invitation['id']}"
    assert (await client.delete(path, headers=world.carol.headers)).status == 404
    assert (await client.post(f"{path}/resend", headers=world.carol.headers)).status == 404
    listed = await client.get(INVITATIONS, headers=world.carol.headers)
    assert await listed.json() == []
    assert (await client.delete(f"{INVITATIONS}/424242", headers=world.alice.headers)).status == 404
