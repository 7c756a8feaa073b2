"""Password reset and magic links, delivered through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import build_app
from server.config import Settings
from server.context import SESSIONS
from tests.builders import PASSWORD, add_member, create_org, create_user
from tests.mail import Inbox, sending_to

API = "/api/v1"
NEW_PASSWORD = "Brand-New-Secret-9#"


@pytest.fixture
async def mail_client(
    settings: Settings, smtp: tuple[Inbox, int], password_hash: str
) -> AsyncIterator[TestClient]:
    configured = sending_to(settings, smtp[1], "https://upmetr.example.com/")
    async with TestClient(TestServer(build_app(configured), host="127.0.0.1")) as client:
        async with client.app[SESSIONS]() as session, session.begin():
            org = await create_org(session, "Org A")
            user = await create_user(session, "alice@example.com", password_hash=password_hash)
            await add_member(session, user, org, "superadmin")
        yield client


def token_in(message: EmailMessage, path: str) -> str:
    body = message.get_content()
    found = re.search(rf"https://upmetr\.example\.com/{path}\?token=([A-Za-z0-9_\-]+)", body)
    assert found, body
    return found.group(1)


async def login(client: TestClient, password: str) -> Any:
    return await client.post(
        f"{API}/auth/login", json={"email": "alice@example.com", "password": password}
    )


async def test_forgot_and_reset_password_by_email(
    mail_client: TestClient,
    smtp: tuple[Inbox, int],
) -> None:
    old = await (await login(mail_client, PASSWORD)).json()
    response = await mail_client.post(
        f"{API}/auth/password/forgot", json={"email": "ALICE@example.com"}
    )
    assert response.status == 202
    (message,) = await smtp[0].wait_for()
    assert message["To"] == "alice@example.com"
    token = token_in(message, "reset-password")
    reset = await mail_client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status == 204
    assert (await login(mail_client, PASSWORD)).status == 401
    assert (await login(mail_client, NEW_PASSWORD)).status == 200
    # Every session was signed out.
    headers = {"Authorization": f"Bearer {old['access_token']}"}
    assert (await mail_client.get(f"{API}/auth/me", headers=headers)).status == 401
    # The token works once.
    again = await mail_client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": PASSWORD}
    )
    assert again.status == 400
    assert "invalid or expired token" in (await again.json())["detail"]


async def test_reset_with_weak_password_keeps_the_token(
    mail_client: TestClient,
    smtp: tuple[Inbox, int],
) -> None:
    await mail_client.post(f"{API}/auth/password/forgot", json={"email": "alice@example.com"})
    token = token_in(*await smtp[0].wait_for(), "reset-password")
    weak = await mail_client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": "weak"}
    )
    assert weak.status == 400
    assert "new_password" in (await weak.json())["detail"]
    good = await mail_client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert good.status == 204


async def test_expired_reset_token_is_400(
    settings: Settings, smtp: tuple[Inbox, int], password_hash: str
) -> None:
    mailing = sending_to(settings, smtp[1], "https://upmetr.example.com")
    expired = mailing.model_copy(update={"password_reset_minutes": -1})
    async with TestClient(TestServer(build_app(expired), host="127.0.0.1")) as client:
        async with client.app[SESSIONS]() as session, session.begin():
            org = await create_org(session, "Org A")
            user = await create_user(session, "alice@example.com", password_hash=password_hash)
            await add_member(session, user, org, "superadmin")
        await client.post(f"{API}/auth/password/forgot", json={"email": "alice@example.com"})
        token = token_in(*await smtp[0].wait_for(), "reset-password")
        response = await client.post(
            f"{API}/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert response.status == 400
        assert (await response.json())["detail"] == "token: invalid or expired token"


async def test_forgot_for_unknown_email_answers_the_same_and_sends_nothing(
    mail_client: TestClient,
    smtp: tuple[Inbox, int],
) -> None:
    known = await mail_client.post(
        f"{API}/auth/password/forgot", json={"email": "alice@example.com"}
    )
    unknown = await mail_client.post(
        f"{API}/auth/password/forgot", json={"email": "nobody@example.com"}
    )
    assert known.status == unknown.status == 202
    assert await known.json() == await unknown.json()
    await smtp[0].wait_for(count=1)
    await asyncio.sleep(0.3)
    assert [message["To"] for message in smtp[0].messages] == ["alice@example.com"]


async def test_magic_link_signs_in_once(
    mail_client: TestClient,
    smtp: tuple[Inbox, int],
) -> None:
    response = await mail_client.post(f"{API}/auth/magic-link", json={"email": "alice@example.com"})
    assert response.status == 202
    (message,) = await smtp[0].wait_for()
    assert "15 minutes" in message.get_content()
    token = token_in(message, "magic-link")
    signed_in = await mail_client.post(f"{API}/auth/magic-link/verify", json={"token": token})
    assert signed_in.status == 200
    headers = {"Authorization": f"Bearer {(await signed_in.json())['access_token']}"}
    assert (await mail_client.get(f"{API}/auth/me", headers=headers)).status == 200
    reused = await mail_client.post(f"{API}/auth/magic-link/verify", json={"token": token})
    assert reused.status == 401


async def test_magic_link_for_unknown_email_is_202_too(
    mail_client: TestClient,
) -> None:
    known = await mail_client.post(f"{API}/auth/magic-link", json={"email": "alice@example.com"})
    unknown = await mail_client.post(f"{API}/auth/magic-link", json={"email": "who@example.com"})
    assert known.status == unknown.status == 202
    assert await known.json() == await unknown.json()


async def test_magic_link_with_mfa_on_gives_a_challenge(
    mail_client: TestClient,
    smtp: tuple[Inbox, int],
) -> None:
    tokens = await (await login(mail_client, PASSWORD)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    setup = await (await mail_client.post(f"{API}/auth/mfa/setup", headers=headers)).json()
    totp = pyotp.TOTP(setup["secret"])
    await mail_client.post(f"{API}/auth/mfa/enable", json={"code": totp.now()}, headers=headers)
    await mail_client.post(f"{API}/auth/magic-link", json={"email": "alice@example.com"})
    token = token_in(*await smtp[0].wait_for(), "magic-link")
    response = await mail_client.post(f"{API}/auth/magic-link/verify", json={"token": token})
    body = await response.json()
    assert body["mfa_required"] is True and "access_token" not in body
    verified = await mail_client.post(
        f"{API}/auth/mfa/verify",
        # The enrolment spent the current step's code; the next step's is accepted.
        json={"mfa_token": body["mfa_token"], "code": totp.at(time.time() + totp.interval)},
    )
    assert verified.status == 200
