"""Sign-in throttling that cannot be turned against a user: guesses slow their own address
down, an account guessed at from many addresses waits longer and longer but is never locked,
and a device that signed in before is not slowed at all.

Clients connect from different loopback addresses (127.0.0.2, 127.0.0.3, ...), which Linux
routes to the server on 127.0.0.1, so the server sees each as a client ip of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from server.app import build_app
from server.config import Settings
from server.context import SESSIONS
from tests.builders import PASSWORD, add_member, create_org, create_user

WRONG = "Wrong-Password-1!"


@asynccontextmanager
async def server_with(
    settings: Settings, password_hash: str, **changes: Any
) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """A server with erin@example.com, a member of her own organization."""
    app = build_app(settings.model_copy(update=changes))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        async with client.app[SESSIONS]() as session, session.begin():
            org = await create_org(session, "Erin's", plan="free")
            user = await create_user(session, "erin@example.com", password_hash=password_hash)
            await add_member(session, user, org, "superadmin")
        yield client


async def sign_in_from(
    client: TestClient,  # type: ignore[type-arg]
    ip: str,
    password: str,
    email: str = "erin@example.com",
) -> tuple[int, int | None]:
    """(status, Retry-After) of a sign-in made from the loopback address `ip`."""
    connector = aiohttp.TCPConnector(local_addr=(ip, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        response = await session.post(
            client.make_url("/api/v1/auth/login"), json={"email": email, "password": password}
        )
        retry_after = response.headers.get("Retry-After")
        return response.status, int(retry_after) if retry_after else None


async def test_guesses_from_many_addresses_slow_the_account_down_but_never_lock_it(
    settings: Settings, password_hash: str
) -> None:
    async with server_with(settings, password_hash, login_failure_limit="2/15minutes") as client:
        assert await sign_in_from(client, "127.0.0.2", WRONG) == (401, None)
        assert await sign_in_from(client, "127.0.0.3", WRONG) == (401, None)
        # The second failure started a 1 s wait for everyone without a known device.
        assert await sign_in_from(client, "127.0.0.4", WRONG) == (429, 1)
        await asyncio.sleep(1.1)
        assert await sign_in_from(client, "127.0.0.4", WRONG) == (401, None)
        # Each further failure doubles the wait, whatever the password.
        assert await sign_in_from(client, "127.0.0.5", PASSWORD) == (429, 2)
        await asyncio.sleep(2.1)
        assert (await sign_in_from(client, "127.0.0.5", PASSWORD))[0] == 200


async def test_a_device_that_signed_in_before_is_not_slowed_by_others_guesses(
    settings: Settings, password_hash: str
) -> None:
    async with server_with(settings, password_hash, login_failure_limit="2/15minutes") as client:
        assert (await sign_in_from(client, "127.0.0.2", PASSWORD))[0] == 200
        for _ in range(2):
            assert (await sign_in_from(client, "127.0.0.3", WRONG))[0] == 401
        assert (await sign_in_from(client, "127.0.0.3", WRONG))[0] == 429
        assert (await sign_in_from(client, "127.0.0.4", PASSWORD))[0] == 429  # a new device
        assert (await sign_in_from(client, "127.0.0.2", PASSWORD))[0] == 200


async def test_guesses_from_one_address_stop_that_address_only(
    settings: Settings, password_hash: str
) -> None:
    async with server_with(settings, password_hash, login_failure_limit_ip="2/minute") as client:
        assert (await sign_in_from(client, "127.0.0.2", WRONG, "one@example.com"))[0] == 401
        assert (await sign_in_from(client, "127.0.0.2", WRONG, "two@example.com"))[0] == 401
        status, retry_after = await sign_in_from(client, "127.0.0.2", PASSWORD)
        assert status == 429 and retry_after is not None and 0 < retry_after <= 60
        assert (await sign_in_from(client, "127.0.0.3", PASSWORD))[0] == 200
