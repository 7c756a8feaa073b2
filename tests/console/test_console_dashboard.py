"""The dashboard against a real server: it counts what the API holds, follows the live
stream without reading everything again, opens details, and keeps organizations apart."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from textual.pilot import Pilot

from console.app import UpmetrApp
from console.screens.dashboard import DashboardScreen
from console.screens.incident_detail import IncidentDetailScreen
from console.screens.monitor_detail import MonitorDetailScreen
from console.widgets.change_log import ChangeLog
from console.widgets.latency_sparks import LatencySparks
from server.context import EVENTS
from server.events.bus import EVENT_BUS
from server.monitors.models import Monitor
from shared.api.events import MonitorStatusChanged
from tests.conftest import Person, World
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


async def act_on_incident(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    incident_id: int,
    action: str,
) -> None:
    response = await client.post(
        f"/api/v1/incidents/{incident_id}/{action}", json={}, headers=person.headers
    )
    assert response.status == 200, await response.text()


async def mark_down(db: AsyncSession, monitor_id: int, error: str = "connection refused") -> None:
    """What the check engine (off in tests) leaves in the row of a monitor it found down."""
    await db.execute(
        update(Monitor).where(Monitor.id == monitor_id).values(status="down", last_error=error)
    )
    await db.commit()


def changes_text(app: UpmetrApp) -> str:
    log = app.screen.query_one(ChangeLog)
    return "\n".join(change.text.plain for change in log.recent())


async def dashboard_shown(pilot: Pilot[None], app: UpmetrApp) -> DashboardScreen:
    """The console opens on the dashboard; wait until it is loaded and events are live."""
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
    await until(pilot, lambda: count(app, "monitors-up") is not None)
    await until(pilot, lambda: app.connection == "live")
    assert isinstance(app.screen, DashboardScreen)
    return app.screen


async def test_the_dashboard_counts_the_incidents_and_monitors_created_through_the_api(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    await open_incident(client, world.alice, "checkout is down", "critical")
    acknowledged = await open_incident(client, world.alice, "disk filling", "warning")
    await act_on_incident(client, world.alice, acknowledged["id"], "acknowledge")
    resolved = await open_incident(client, world.alice, "blip", "error")
    await act_on_incident(client, world.alice, resolved["id"], "resolve")
    down = await create_monitor(client, world.alice, "payments api")
    await mark_down(db, down["id"])
    await create_monitor(client, world.alice, "docs site")
    await create_monitor(client, world.alice, "old site", paused=True)
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:
        await dashboard_shown(pilot, app)
        assert [count(app, f"incidents-{s}") for s in ("critical", "error", "warning", "info")] == [
            1,
            0,
            1,
            0,
        ]
        assert (count(app, "incidents-open"), count(app, "incidents-acknowledged")) == (1, 1)
        assert [count(app, f"monitors-{s}") for s in ("up", "down", "paused", "pending")] == [
            0,
            1,
            1,
            1,
        ]
        unresolved = table_text(pilot, "#unresolved")
        assert "checkout is down" in unresolved and "disk filling" in unresolved
        assert "blip" not in unresolved
        troubled = table_text(pilot, "#troubled")
        assert "payments api" in troubled and "connection refused" in troubled
        assert "docs site" not in troubled
        recent = changes_text(app)
        assert "#3 blip" in recent and "resolved" in recent and "acknowledged" in recent
        sparks = app.screen.query_one(LatencySparks)
        assert sparks.monitor_ids[0] == down["id"]  # the troubled one first


async def test_an_incident_opened_through_the_api_appears_without_a_reload(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:
        await dashboard_shown(pilot, app)
        assert count(app, "incidents-critical") == 0
        incident = await open_incident(client, world.alice, "queue backlog", "critical")
        await until(pilot, lambda: count(app, "incidents-critical") == 1)
        await until(pilot, lambda: "queue backlog" in table_text(pilot, "#unresolved"))
        assert "queue backlog opened" in changes_text(app)
        await act_on_incident(client, world.alice, incident["id"], "resolve")
        await until(pilot, lambda: count(app, "incidents-critical") == 0)
        await until(pilot, lambda: "queue backlog" not in table_text(pilot, "#unresolved"))
        assert "resolved  #1 queue backlog" in changes_text(app)


async def test_a_monitor_created_or_deleted_through_the_api_is_counted_at_once(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    """From its live event, well before the dashboard's grouped re-read would tell."""
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:
        dashboard = await dashboard_shown(pilot, app)
        first = await create_monitor(client, world.alice, "new site", paused=True)
        await create_monitor(client, world.alice, "payments", paused=True)
        await until(pilot, lambda: count(app, "monitors-paused") == 2, timeout=2.0)
        assert dashboard.monitors_total == 2
        deleted = await client.delete(
            f"/api/v1/monitors/{first['id']}", headers=world.alice.headers
        )
        assert deleted.status == 204
        await until(pilot, lambda: count(app, "monitors-paused") == 1, timeout=2.0)
        assert dashboard.monitors_total == 1


async def test_a_monitor_going_down_moves_into_the_down_list_and_the_sparklines_at_once(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    monitors = [await create_monitor(client, world.alice, f"site {n}") for n in range(8)]
    flapping = monitors[-1]  # past the sparklines' rows until it goes down
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:
        dashboard = await dashboard_shown(pilot, app)
        sparks = dashboard.query_one(LatencySparks)
        assert flapping["id"] not in sparks.monitor_ids
        await mark_down(db, flapping["id"], "timed out")
        client.app[EVENTS].publish(
            world.org_a,
            MonitorStatusChanged(
                monitor_id=flapping["id"], name="site 7", status="down", previous_status="pending"
            ),
        )
        await until(pilot, lambda: count(app, "monitors-down") == 1)
        assert count(app, "monitors-pending") == 7
        await until(pilot, lambda: "site 7" in table_text(pilot, "#troubled"))
        assert sparks.monitor_ids[0] == flapping["id"]
        assert "site 7 (was pending)" in changes_text(app)


async def test_live_checks_feed_the_sparkline_and_a_repeated_result_counts_once(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    monitor = await create_monitor(client, world.alice, "search api")
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:  # a line a row
        dashboard = await dashboard_shown(pilot, app)
        sparks = dashboard.query_one(LatencySparks)
        assert sparks.monitor_ids == [monitor["id"]]
        for result_id, ms in ((1, 40), (2, 55), (2, 55), (3, 30)):
            data = check_event(
                monitor["id"], "search api", result_id, ms, "2026-01-01T12:00:00+00:00"
            )
            client.app[EVENTS].publish(world.org_a, data)
        await until(pilot, lambda: sparks.values(monitor["id"]) == [40.0, 55.0, 30.0])
        drawn = sparks.render().plain
        assert "search api" in drawn and drawn.endswith("30 ms")
        bars = "".join(character for character in drawn if character in "▁▂▃▄▅▆▇█")
        assert re.sub(r"(.)\1+", r"\1", bars) == "▃█▁"  # 40, 55, 30: one bar height each


async def test_pausing_a_monitor_through_the_api_moves_its_count(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    monitor = await create_monitor(client, world.alice, "cron heartbeat")
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:
        await dashboard_shown(pilot, app)
        assert (count(app, "monitors-pending"), count(app, "monitors-paused")) == (1, 0)
        response = await client.post(
            f"/api/v1/monitors/{monitor['id']}/pause", headers=world.alice.headers
        )
        assert response.status == 200
        await until(pilot, lambda: count(app, "monitors-paused") == 1)
        assert count(app, "monitors-pending") == 0
        assert "cron heartbeat (was pending)" in changes_text(app)


async def test_enter_opens_the_incident_or_the_monitor_under_the_cursor(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    incident = await open_incident(client, world.alice, "login errors")
    monitor = await create_monitor(client, world.alice, "auth api")
    await mark_down(db, monitor["id"])
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:
        await dashboard_shown(pilot, app)
        await until(pilot, lambda: "login errors" in table_text(pilot, "#unresolved"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentDetailScreen))
        assert isinstance(app.screen, IncidentDetailScreen)
        assert app.screen.incident_id == incident["id"]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("tab", "enter")
        await until(pilot, lambda: isinstance(app.screen, MonitorDetailScreen))
        assert isinstance(app.screen, MonitorDetailScreen)
        assert app.screen.monitor_id == monitor["id"]


async def test_carol_sees_none_of_org_as_counts_or_their_events(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    await open_incident(client, world.alice, "org A secret")
    secret = await create_monitor(client, world.alice, "org A api")
    await mark_down(db, secret["id"])
    await create_monitor(client, world.carol, "org B api")
    app = console_for(client, world.carol)
    async with app.run_test(size=SMALL) as pilot:
        await dashboard_shown(pilot, app)
        assert count(app, "incidents-critical") == 0
        assert count(app, "monitors-down") == 0
        assert count(app, "monitors-pending") == 1
        await until(pilot, lambda: client.app[EVENT_BUS].subscriber_count(world.org_b) > 0)
        await open_incident(client, world.alice, "org A later")
        await open_incident(client, world.carol, "org B later", "warning")
        await until(pilot, lambda: "org B later" in table_text(pilot, "#unresolved"))
        assert count(app, "incidents-critical") == 0
        assert "org A" not in table_text(pilot, "#unresolved") + table_text(pilot, "#troubled")
        assert "org A" not in changes_text(app)


async def test_past_the_overviews_lists_the_counts_come_from_its_totals_and_follow_events(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    """The overview lists the newest 20 unresolved incidents; past that the tiles count
    from its totals, and events move them."""
    for n in range(21):
        await open_incident(client, world.alice, f"warning {n}", "warning")
    await open_incident(client, world.alice, "critical trouble", "critical")
    down = await create_monitor(client, world.alice, "edge proxy")
    await mark_down(db, down["id"])
    await create_monitor(client, world.alice, "batch jobs", paused=True)
    app = console_for(client, world.alice)
    async with app.run_test(size=SMALL) as pilot:
        await dashboard_shown(pilot, app)
        assert [count(app, f"incidents-{s}") for s in ("critical", "warning", "open")] == [
            1,
            21,
            22,
        ]
        assert [count(app, f"monitors-{s}") for s in ("down", "paused", "pending")] == [1, 1, 0]
        assert "edge proxy" in table_text(pilot, "#troubled")
        await open_incident(client, world.alice, "another one", "critical")
        await until(pilot, lambda: count(app, "incidents-critical") == 2)
        assert count(app, "incidents-open") == 23
