"""A rate limit that outlasts the client's retries at start is waited out: the saved tokens
are good (a 429 says nothing of them), so the console never asks to sign in again."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from console.app import UpmetrApp
from console.config import Credentials
from console.screens.login import LoginScreen
from server.config import Settings
from shared.client import AsyncClient
from tests.conftest import World
from tests.console.console_harness import SMALL, count, open_incident, until
from tests.console.test_console_rate_limit import spend_the_limit

LIMIT = 6
WINDOW_SECONDS = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit_user": f"{LIMIT}/{WINDOW_SECONDS} seconds"})


async def test_a_rate_limit_longer_than_the_clients_retries_is_waited_out_not_a_sign_in(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "checkout is down", "critical")
    url = str(client.make_url("/")).rstrip("/")
    saved = Credentials(url, world.alice.access_token or "", "", world.alice.email)
    # A client that gives up at the first 429: its retries are spent before the limit ends.
    api = AsyncClient(url, access_token=saved.access_token, max_retries=0)
    app = UpmetrApp(url, credentials=saved, remember=False, api=api)
    await spend_the_limit(client, world)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: count(app, "incidents-critical") == 1, WINDOW_SECONDS * 5)
        assert not any(isinstance(screen, LoginScreen) for screen in app.screen_stack)
        assert app.me is not None and app.me.user.email == world.alice.email
