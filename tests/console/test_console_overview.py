"""The dashboard's first frame comes from one `GET /overview`, then from live events: an
idle console sends no request at all, and its header keeps `live` in sight at 80 columns."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from console.app import UpmetrApp
from console.config import Credentials
from console.screens.dashboard import DashboardScreen
from console.screens.dashboard_data import SPARK_POINTS
from console.widgets.latency_sparks import POINTS, LatencySparks
from console.widgets.status_bar import StatusBar
from server.context import EVENTS
from server.monitors.models import CheckResult, Monitor
from shared.api.events import MonitorStatusChanged
from shared.client import AsyncClient
from tests.builders import Person
from tests.conftest import World
from tests.console.console_harness import (
    SMALL,
    check_event,
    console_for,
    count,
    create_monitor,
    open_incident,
    table_text,
    until,
)

# Longer than the 30 s at which every view once read everything again, idle or not.
IDLE_SECONDS = 32.0


class CountingTransport(httpx.AsyncHTTPTransport):
    """The real HTTP transport to the real server, noting each request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        return await super().handle_async_request(request)


def counted_console(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    transport: CountingTransport,
) -> UpmetrApp:
    url = str(client.make_url("/")).rstrip("/")
    api = AsyncClient(
        url,
        access_token=person.access_token,
        refresh_token=person.refresh_token,
        transport=transport,
    )
    tokens = Credentials(url, person.access_token or "", person.refresh_token or "", person.email)
    return UpmetrApp(url, credentials=tokens, remember=False, api=api)


async def test_the_dashboard_is_one_overview_read_and_then_sends_nothing_while_idle(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "checkout is down", "critical")
    monitor = await create_monitor(client, world.alice, "search api")
    transport = CountingTransport()
    app = counted_console(client, world.alice, transport)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.connection == "live")
        await until(pilot, lambda: count(app, "incidents-critical") == 1)
        assert isinstance(app.screen, DashboardScreen)
        first_load = list(transport.sent)
        assert sorted(first_load) == [
            "GET /api/v1/auth/me",
            "GET /api/v1/events",
            "GET /api/v1/overview",
        ]
        # Idle but for what the server pushes: checks of a monitor the sparklines follow.
        sparks = app.screen.query_one(LatencySparks)
        for n in range(1, 4):
            await asyncio.sleep(IDLE_SECONDS / 3)
            at = "2026-01-01T12:00:00+00:00"
            data = check_event(monitor["id"], "search api", n, 20 * n, at)
            client.app[EVENTS].publish(world.alice.org_id, data)
        await until(pilot, lambda: sparks.values(monitor["id"]) == [20.0, 40.0, 60.0])
        assert transport.sent == first_load


async def test_the_sparklines_past_response_times_come_with_the_overview(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    monitor = await create_monitor(client, world.alice, "payments api")
    async with db.begin():
        await db.execute(update(Monitor).where(Monitor.id == monitor["id"]).values(status="down"))
        for ms in (30, 45, 25):
            db.add(
                CheckResult(
                    monitor_id=monitor["id"], checked_at=datetime.now(UTC),
                    status="up", response_time_ms=ms,
                )
            )  # fmt: skip
    transport = CountingTransport()
    app = counted_console(client, world.alice, transport)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.connection == "live")
        sparks = app.screen.query_one(LatencySparks)
        await until(pilot, lambda: sparks.values(monitor["id"]) == [30.0, 45.0, 25.0])
        assert "payments api" in table_text(pilot, "#troubled")
        assert not [sent for sent in transport.sent if "/checks" in sent]
    assert SPARK_POINTS == POINTS  # the overview brings as many as a sparkline keeps


async def test_the_header_keeps_live_in_sight_at_80_columns_read_only(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, readonly=True)
    async with app.run_test(size=SMALL) as pilot:
        # The unread count is read apart from the stream, and may come after it is live.
        await until(pilot, lambda: app.connection == "live" and app.unread is not None)
        bar = app.screen.query_one(StatusBar)
        width = bar.size.width
        line = bar.render()
        assert line.plain.endswith("● live") and line.cell_len <= width
        # The whole line would be 91 cells: the email makes way first.
        assert line.plain == (
            "upmetr > dashboard  Org A · superadmin  [read-only]  ✉ 0 unread  ● live"
        )
        # The identity a newcomer had: the email goes first, then `[read-only]` shortens.
        app.identity = "robert.longname-for-testing@operations.example.com · Org A · viewer"
        await pilot.pause()
        line = bar.render()
        assert line.plain.endswith("● live") and line.cell_len <= width, line.plain
        assert "Org A · viewer" in line.plain and "read-only" in line.plain
        # Past every shorter form the organization's name is cut, never the state.
        app.identity = "someone@example.com · " + "A very long organization name " * 3 + "· admin"
        await pilot.pause()
        line = bar.render()
        assert line.plain.endswith("● live") and line.cell_len <= width, line.plain
        assert "…" in line.plain and line.plain.startswith("dashboard") and "[ro]" in line.plain


async def test_a_status_change_the_counts_cannot_hold_reads_the_overview_again(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A change from a status the counts have none of (the event that put the monitor there
    was never applied) cannot be moved between counts: the dashboard reads them again."""
    monkeypatch.setattr("console.screens.dashboard.REFETCH_SECONDS", 0.2)
    first = await create_monitor(client, world.alice, "docs site")
    await set_status(db, first["id"], "up")
    transport = CountingTransport()
    app = counted_console(client, world.alice, transport)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.connection == "live")
        await until(pilot, lambda: count(app, "monitors-up") == 1)
        await set_status(db, first["id"], "down")
        client.app[EVENTS].publish(
            world.alice.org_id,
            MonitorStatusChanged(
                monitor_id=first["id"],
                name="docs site",
                status="down",
                previous_status="maintenance",
            ),
        )
        await until(pilot, lambda: transport.sent.count("GET /api/v1/overview") == 2)
        await until(pilot, lambda: count(app, "monitors-down") == 1)
        assert (count(app, "monitors-up"), count(app, "monitors-maintenance")) == (0, 0)


async def set_status(db: AsyncSession, monitor_id: int, status: str) -> None:
    async with db.begin():
        await db.execute(update(Monitor).where(Monitor.id == monitor_id).values(status=status))
