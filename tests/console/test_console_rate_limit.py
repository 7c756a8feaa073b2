"""When the server refuses requests for the rate limit (429), the console says so: a banner
counts down the seconds of `Retry-After` and the header says `rate limited`, not `live`.
The client waits those seconds itself, and the dashboard fills in once they are over."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient

from console.widgets.change_log import ChangeLog
from console.widgets.rate_limit_banner import RateLimitBanner
from console.widgets.status_bar import StatusBar
from server.config import Settings
from shared.client import AsyncClient, RateLimited
from tests.conftest import World
from tests.console.console_harness import SMALL, console_for, count, open_incident, until

LIMIT = 6
WINDOW_SECONDS = 8


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The server of these tests allows a user LIMIT requests in WINDOW_SECONDS."""
    return settings.model_copy(update={"rate_limit_user": f"{LIMIT}/{WINDOW_SECONDS} seconds"})


async def spend_the_limit(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    for _ in range(LIMIT * 2):
        response = await client.get("/api/v1/auth/me", headers=world.alice.headers)
        if response.status == 429:
            return
    raise AssertionError("the rate limit was never reached")


async def test_the_client_waits_the_seconds_the_server_names(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    url = str(client.make_url("/")).rstrip("/")
    told: list[float] = []
    async with AsyncClient(url, access_token=world.alice.access_token, max_retries=0) as api:
        api.on_rate_limited = told.append
        await spend_the_limit(client, world)
        with pytest.raises(RateLimited, match="Rate limit exceeded") as refused:
            await api.auth.me()
        assert refused.value.retry_after == told[0]
        assert 0 < told[0] <= WINDOW_SECONDS
        assert 0 < api.rate_limit_left() <= told[0]


async def test_a_request_after_a_429_waits_out_retry_after_before_it_is_sent(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    url = str(client.make_url("/")).rstrip("/")
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        await asyncio.sleep(seconds)

    async with AsyncClient(
        url, access_token=world.alice.access_token, max_retries=0, sleep=sleep
    ) as api:
        await spend_the_limit(client, world)
        with pytest.raises(RateLimited) as refused:
            await api.auth.me()
        me = await api.auth.me()  # not sent before the seconds the server named
    assert me.user.email == world.alice.email
    assert len(waited) == 1 and 0 < waited[0] <= (refused.value.retry_after or 0)
    assert api.rate_limit_left() == 0


async def test_a_rate_limited_console_shows_a_banner_and_rate_limited_then_its_data(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "checkout is down", "critical")
    await spend_the_limit(client, world)
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:
        banner = app.screen.query_one(RateLimitBanner)
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: banner.seconds_left > 0)
        assert 0 < banner.seconds_left <= WINDOW_SECONDS
        assert banner.display
        assert "reading again in" in banner.render().plain
        assert "rate limited" in bar.render().plain and "live" not in bar.render().plain
        assert count(app, "incidents-critical") is None  # nothing read: not an empty "0"
        changes = app.screen.query_one(ChangeLog)
        await until(pilot, lambda: changes.loading)  # not "nothing changed in the last hour"
        # The client waits out Retry-After and reads again; the banner counts down to it.
        await until(pilot, lambda: count(app, "incidents-critical") == 1, WINDOW_SECONDS + 5)
        await until(pilot, lambda: app.connection == "live", 5)
        await until(pilot, lambda: not banner.display, 3)
        assert bar.render().plain.endswith("● live")
        assert not changes.loading
