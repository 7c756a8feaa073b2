"""The monitors view and a monitor's detail against a real server: actions reach it, rows
and the chart follow the live stream, roles and organizations are respected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from textual.pilot import Pilot

from console.app import UpmetrApp
from console.screens.monitor_detail import MonitorDetailScreen
from console.screens.monitors import MonitorsScreen
from console.widgets.uptime_bar import day_cell
from server.context import EVENTS
from shared.api.events import MonitorStatusChanged, OtherEvent
from tests.conftest import Person, World
from tests.console.console_harness import (
    check_event,
    console_for,
    create_monitor,
    table_text,
    until,
)

SIZE = (160, 40)
WRITE_ACTIONS = ("check_now", "toggle_pause", "delete")


@pytest.fixture
async def target() -> AsyncIterator[str]:
    """A healthy HTTP server on 127.0.0.1 for monitors to check."""

    async def healthy(request: web.Request) -> web.Response:
        return web.Response(text="all systems operational")

    app = web.Application()
    app.router.add_get("/", healthy)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


async def server_monitor(client: TestClient, person: Person, monitor_id: int) -> dict[str, Any]:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/monitors/{monitor_id}", headers=person.headers)
    assert response.status == 200
    return dict(await response.json())


async def open_monitors(pilot: Pilot[None], app: UpmetrApp, shows: str) -> MonitorsScreen:
    """Go to the monitors view (key 3) and wait for a row containing `shows`."""
    await until(pilot, lambda: app.me is not None and app.current_mode == "dashboard")
    await pilot.press("3")
    await until(pilot, lambda: shows in table_text(pilot))
    assert isinstance(app.screen, MonitorsScreen)
    return app.screen


async def test_pause_from_the_table_reaches_the_server_and_resume_undoes_it(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    monitor = await create_monitor(client, world.alice, "checkout api")
    app = console_for(client, world.alice)
    async with app.run_test(size=SIZE) as pilot:
        await open_monitors(pilot, app, "checkout api")
        await until(pilot, lambda: app.connection == "live")
        await pilot.press("p")
        await until(pilot, lambda: "‖ paused" in table_text(pilot))
        assert (await server_monitor(client, world.alice, monitor["id"]))["status"] == "paused"
        await pilot.press("p")
        await until(pilot, lambda: "○ pending" in table_text(pilot))
        assert (await server_monitor(client, world.alice, monitor["id"]))["paused"] is False


async def test_live_check_and_status_events_change_the_row_in_place(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    """The server never checked this monitor: what the row shows came by the stream."""
    monitor = await create_monitor(client, world.alice, "search api")
    app = console_for(client, world.alice)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitors(pilot, app, "search api")
        await until(pilot, lambda: app.connection == "live")
        events = client.app[EVENTS]
        for result_id, latency in ((101, 40), (102, 80)):
            now = datetime.now(UTC).isoformat()
            data = check_event(monitor["id"], "search api", result_id, latency, now)
            events.publish(world.org_a, data)
        await until(pilot, lambda: "80 ms" in table_text(pilot))
        assert "● up" in table_text(pilot)
        assert "▁█" in table_text(pilot)  # the trend: 40 ms then 80 ms
        events.publish(
            world.org_a,
            MonitorStatusChanged(
                monitor_id=monitor["id"], name="search api", status="down", previous_status="up"
            ),
        )
        await until(pilot, lambda: "▼ down" in table_text(pilot))
        assert screen.table.row_count == 1


async def test_events_the_console_cannot_read_are_skipped_and_the_next_one_applies(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    """A newer server's event types (or changed data) must not stop an older console."""
    monitor = await create_monitor(client, world.alice, "search api")
    app = console_for(client, world.alice)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitors(pilot, app, "search api")
        await until(pilot, lambda: app.connection == "live")
        events = client.app[EVENTS]
        events.publish(world.org_a, OtherEvent.of("monitor.moved", {"monitor_id": monitor["id"]}))
        events.publish(
            world.org_a, OtherEvent.of("monitor.status", {"monitor_id": monitor["id"], "status": 1})
        )
        events.publish(
            world.org_a,
            MonitorStatusChanged(
                monitor_id=monitor["id"], name="search api", status="down", previous_status="up"
            ),
        )
        await until(pilot, lambda: "▼ down" in table_text(pilot))
        assert screen.table.row_count == 1
        assert app.connection == "live"


async def test_check_now_in_the_detail_records_a_result_and_the_chart_and_row_follow(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    target: str,
) -> None:
    monitor = await create_monitor(client, world.alice, "billing api", url=target)
    app = console_for(client, world.alice)
    async with app.run_test(size=SIZE) as pilot:
        await open_monitors(pilot, app, "billing api")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MonitorDetailScreen))
        detail = app.screen
        assert isinstance(detail, MonitorDetailScreen)
        await until(pilot, lambda: detail.monitor is not None)
        assert detail.chart.points == []
        await pilot.press("c")
        await until(pilot, lambda: len(detail.chart.points) == 1)
        await until(pilot, lambda: detail.monitor is not None and detail.monitor.status == "up")
        checks = await client.get(
            f"/api/v1/monitors/{monitor['id']}/checks", headers=world.alice.headers
        )
        [stored] = (await checks.json())["items"]
        assert detail.chart.points[0].result_id == stored["id"]
        await pilot.press("escape")
        await until(pilot, lambda: "● up" in table_text(pilot))
        assert f"{stored['response_time_ms']} ms" in table_text(pilot)


async def test_a_viewer_has_no_write_actions_and_the_server_refuses_them_anyway(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    monitor = await create_monitor(client, world.alice, "status api")
    app = console_for(client, world.bob)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitors(pilot, app, "status api")
        assert all(screen.check_action(action, ()) is False for action in WRITE_ACTIONS)
        await pilot.press("p")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MonitorDetailScreen))
        assert app.screen.check_action("check_now", ()) is False
        assert app.screen.check_action("toggle_pause", ()) is False
    assert (await server_monitor(client, world.alice, monitor["id"]))["paused"] is False
    refused = await client.post(
        f"/api/v1/monitors/{monitor['id']}/pause", headers=world.bob.headers
    )
    assert refused.status == 403


async def test_read_only_console_shows_write_actions_disabled_and_does_nothing(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    monitor = await create_monitor(client, world.alice, "mail api")
    app = console_for(client, world.alice, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitors(pilot, app, "mail api")
        assert all(screen.check_action(action, ()) is None for action in WRITE_ACTIONS)
        assert screen.active_bindings["p"].enabled is False
        await pilot.press("p", "d")
        assert isinstance(app.screen, MonitorsScreen)  # no confirmation dialog either
    assert (await server_monitor(client, world.alice, monitor["id"]))["paused"] is False


async def test_carol_sees_no_monitors_of_org_a(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await create_monitor(client, world.alice, "org a secret")
    await create_monitor(client, world.carol, "org b public")
    app = console_for(client, world.carol)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitors(pilot, app, "org b public")
        assert "org a secret" not in table_text(pilot)
        assert screen.table.border_title == "monitors (1)"


async def test_the_filter_narrows_the_loaded_rows_and_hidden_rows_still_follow_events(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    for name in ("payments eu", "payments us"):
        await create_monitor(client, world.alice, name)
    search = await create_monitor(client, world.alice, "search")
    app = console_for(client, world.alice)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitors(pilot, app, "search")
        await until(pilot, lambda: app.connection == "live")
        await pilot.press("slash", *"payments", "enter")
        await until(pilot, lambda: screen.table.row_count == 2)
        assert "search" not in table_text(pilot)
        client.app[EVENTS].publish(
            world.org_a,
            MonitorStatusChanged(
                monitor_id=search["id"], name="search", status="down", previous_status="pending"
            ),
        )
        await until(pilot, lambda: screen.monitors[search["id"]].status == "down")
        assert screen.table.row_count == 2
        await pilot.press("escape")
        await until(pilot, lambda: screen.table.row_count == 3)
        assert "▼ down search" in table_text(pilot)


async def test_a_monitor_created_or_deleted_elsewhere_comes_and_goes_in_the_list(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await create_monitor(client, world.alice, "search")
    app = console_for(client, world.alice)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitors(pilot, app, "search")
        await until(pilot, lambda: app.connection == "live")
        created = await create_monitor(client, world.alice, "payments", paused=True)
        await until(pilot, lambda: "payments" in table_text(pilot))
        assert screen.table.border_title == "monitors (2)"
        deleted = await client.delete(
            f"/api/v1/monitors/{created['id']}", headers=world.alice.headers
        )
        assert deleted.status == 204
        await until(pilot, lambda: "payments" not in table_text(pilot))
        assert screen.table.border_title == "monitors (1)"


async def test_more_monitors_than_the_cap_show_the_first_ones_and_the_total(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(MonitorsScreen, "MAX_ROWS", 2)
    for name in ("a api", "b api", "c api"):
        await create_monitor(client, world.alice, name)
    app = console_for(client, world.alice)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitors(pilot, app, "b api")
        assert screen.table.row_count == 2
        assert screen.table.border_title == "monitors (first 2 of 3)"


def test_a_day_reads_by_its_glyph_height_without_colour() -> None:
    glyphs = [day_cell(pct)[0] for pct in (100.0, 99.5, 97.0, 92.0, 50.0, None)]
    assert glyphs == ["█", "▇", "▅", "▃", "▁", "·"]
