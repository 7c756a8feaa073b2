"""The console's first reads, started before the app exists (console/launch.py): their
answers fill the first frame, nothing is asked twice, and refused tokens still lead to the
login screen."""

from __future__ import annotations

import asyncio

import httpx
from aiohttp.test_utils import TestClient

from console.app import UpmetrApp
from console.config import Credentials
from console.launch import start_early_reads
from console.screens.dashboard import DashboardScreen
from console.screens.login import LoginScreen
from shared.client import AsyncClient
from tests.builders import PASSWORD
from tests.conftest import World
from tests.console.console_harness import SMALL, count, create_monitor, open_incident, until


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real transport, noting each request's method and path."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(f"{request.method} {request.url.path}")
        return await super().handle_async_request(request)


async def test_reads_started_before_the_app_fill_the_dashboard_and_are_not_asked_again(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "checkout is down", "critical")
    await create_monitor(client, world.alice, "payments api")
    url = str(client.make_url("/")).rstrip("/")
    alice = world.alice
    transport = RecordingTransport()
    api = AsyncClient(
        url,
        access_token=alice.access_token,
        refresh_token=alice.refresh_token,
        transport=transport,
    )
    early = start_early_reads(api, "dashboard")
    await asyncio.wait(early.values())  # answered while the interface would be importing
    read_early = list(transport.asked)
    assert sorted(read_early) == ["GET /api/v1/auth/me", "GET /api/v1/overview"]

    credentials = Credentials(url, alice.access_token or "", alice.refresh_token or "", alice.email)
    app = UpmetrApp(url, credentials=credentials, remember=False, api=api, early_reads=early)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.connection == "live")
        assert isinstance(app.screen, DashboardScreen)
        assert count(app, "incidents-critical") == 1
        assert count(app, "monitors-pending") == 1
        assert app.me is not None and app.me.user.email == alice.email
    asked_by_the_app = transport.asked[len(read_early) :]
    assert "GET /api/v1/events" in asked_by_the_app
    asked_again = [
        request
        for request in asked_by_the_app
        if request.endswith(("/auth/me", "/overview", "/monitors", "/incidents"))
    ]
    assert asked_again == []


async def test_early_reads_with_revoked_tokens_end_on_the_login_screen(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    alice = world.alice
    await open_incident(client, alice, "queue backlog", "warning")
    logout = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": alice.refresh_token}, headers=alice.headers
    )
    assert logout.status == 204, await logout.text()
    url = str(client.make_url("/")).rstrip("/")
    api = AsyncClient(url, access_token=alice.access_token, refresh_token=alice.refresh_token)
    early = start_early_reads(api, "dashboard")
    credentials = Credentials(url, alice.access_token or "", alice.refresh_token or "", alice.email)
    app = UpmetrApp(url, credentials=credentials, remember=False, api=api, early_reads=early)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.click("#password")
        await pilot.press(*PASSWORD, "enter")
        await until(pilot, lambda: count(app, "incidents-warning") == 1)
        assert isinstance(app.screen, DashboardScreen)
