"""TOTP enrolment and sign-in with a second factor, end to end with pyotp."""

from __future__ import annotations

import time
from typing import Any

import pyotp
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.auth.models import MfaBackupCode
from server.context import SESSIONS
from server.users.models import User
from tests.builders import PASSWORD
from tests.conftest import World

API = "/api/v1"


async def enrol(client: TestClient, headers: dict[str, str]) -> tuple[pyotp.TOTP, list[str]]:
    setup = await (await client.post(f"{API}/auth/mfa/setup", headers=headers)).json()
    totp = pyotp.TOTP(setup["secret"])
    response = await client.post(
        f"{API}/auth/mfa/enable", json={"code": totp.now()}, headers=headers
    )
    assert response.status == 200, await response.text()
    return totp, (await response.json())["backup_codes"]


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the next time step: `now()` was spent by enrolment, and a code counts once.

    The server accepts one step of drift either side (RFC 6238 section 5.2).
    """
    return totp.at(time.time() + totp.interval)


async def challenge(client: TestClient, email: str = "alice@example.com") -> str:
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status == 200
    body = await response.json()
    assert body["mfa_required"] is True
    assert "access_token" not in body
    return str(body["mfa_token"])


async def verify(client: TestClient, token: str, code: str) -> Any:
    return await client.post(f"{API}/auth/mfa/verify", json={"mfa_token": token, "code": code})


async def test_setup_returns_secret_and_otpauth_uri_without_enabling(
    client: TestClient,
    world: World,
) -> None:
    response = await client.post(f"{API}/auth/mfa/setup", headers=world.alice.headers)
    assert response.status == 200
    body = await response.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    async with client.app[SESSIONS]() as session:
        user = await session.get(User, world.alice.user_id)
    assert user is not None and not user.mfa_enabled
    assert user.mfa_secret_encrypted and body["secret"] not in user.mfa_secret_encrypted
    login = await client.post(
        f"{API}/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert "access_token" in await login.json()


async def test_enable_with_wrong_code_is_400(client: TestClient, world: World) -> None:
    await client.post(f"{API}/auth/mfa/setup", headers=world.alice.headers)
    response = await client.post(
        f"{API}/auth/mfa/enable", json={"code": "000000"}, headers=world.alice.headers
    )
    assert response.status == 400


async def test_enable_gives_ten_backup_codes_stored_hashed(
    client: TestClient, world: World
) -> None:
    _, codes = await enrol(client, world.alice.headers)
    assert len(codes) == len(set(codes)) == 10
    async with client.app[SESSIONS]() as session:
        hashes = (await session.execute(select(MfaBackupCode.code_hash))).scalars().all()
    assert len(hashes) == 10
    assert not set(codes) & set(hashes)


async def test_setup_again_when_enabled_is_409(client: TestClient, world: World) -> None:
    await enrol(client, world.alice.headers)
    response = await client.post(f"{API}/auth/mfa/setup", headers=world.alice.headers)
    assert response.status == 409


async def test_mfa_login_end_to_end_with_totp(client: TestClient, world: World) -> None:
    totp, _ = await enrol(client, world.alice.headers)
    token = await challenge(client)
    assert (
        await verify(client, token, "123456" if next_code(totp) != "123456" else "654321")
    ).status == 401
    response = await verify(client, token, next_code(totp))
    assert response.status == 200
    headers = {"Authorization": f"Bearer {(await response.json())['access_token']}"}
    me = await (await client.get(f"{API}/auth/me", headers=headers)).json()
    assert me["user"]["mfa_enabled"] is True
    assert me["organization"]["id"] == world.org_a


async def test_mfa_token_is_not_an_access_token(client: TestClient, world: World) -> None:
    await enrol(client, world.alice.headers)
    token = await challenge(client)
    response = await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401


async def test_access_token_is_not_an_mfa_token(client: TestClient, world: World) -> None:
    totp, _ = await enrol(client, world.alice.headers)
    response = await verify(client, world.alice.access_token, next_code(totp))
    assert response.status == 401


async def test_backup_code_signs_in_once(client: TestClient, world: World) -> None:
    _, codes = await enrol(client, world.alice.headers)
    assert (await verify(client, await challenge(client), codes[0])).status == 200
    assert (await verify(client, await challenge(client), codes[0])).status == 401
    assert (await verify(client, await challenge(client), codes[1].upper())).status == 200


async def test_new_backup_codes_replace_the_old_ones(client: TestClient, world: World) -> None:
    totp, old = await enrol(client, world.alice.headers)
    response = await client.post(
        f"{API}/auth/mfa/backup-codes", json={"code": next_code(totp)}, headers=world.alice.headers
    )
    assert response.status == 200
    new = (await response.json())["backup_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert (await verify(client, await challenge(client), old[0])).status == 401
    assert (await verify(client, await challenge(client), new[0])).status == 200


async def test_disable_needs_a_valid_code_then_login_skips_mfa(
    client: TestClient,
    world: World,
) -> None:
    totp, _ = await enrol(client, world.alice.headers)
    wrong = await client.post(
        f"{API}/auth/mfa/disable", json={"code": "not-a-code"}, headers=world.alice.headers
    )
    assert wrong.status == 400
    response = await client.post(
        f"{API}/auth/mfa/disable", json={"code": next_code(totp)}, headers=world.alice.headers
    )
    assert response.status == 204
    login = await client.post(
        f"{API}/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert "access_token" in await login.json()
    again = await client.post(
        f"{API}/auth/mfa/disable", json={"code": totp.now()}, headers=world.alice.headers
    )
    assert again.status == 409


async def test_a_totp_code_signs_in_only_once(client: TestClient, world: World) -> None:
    totp, _ = await enrol(client, world.alice.headers)
    code = next_code(totp)
    assert (await verify(client, await challenge(client), code)).status == 200
    assert (await verify(client, await challenge(client), code)).status == 401


async def test_the_enrolment_code_cannot_sign_in(client: TestClient, world: World) -> None:
    setup = await (await client.post(f"{API}/auth/mfa/setup", headers=world.alice.headers)).json()
    totp = pyotp.TOTP(setup["secret"])
    code = totp.now()
    enabled = await client.post(
        f"{API}/auth/mfa/enable", json={"code": code}, headers=world.alice.headers
    )
    assert enabled.status == 200
    assert (await verify(client, await challenge(client), code)).status == 401
