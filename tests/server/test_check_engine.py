"""The check engine against real targets on 127.0.0.1 that the tests flip between healthy
and failing: results, monitor state, incidents opening once and resolving, live events."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.context import CHECK_ENGINE, SESSIONS
from server.context import SETTINGS as SETTINGS_KEY
from server.engines import checks
from server.incidents.models import Incident
from server.monitors.models import CheckResult, Monitor
from server.notifications.models import NotificationEvent
from tests.builders import Person
from tests.conftest import World
from tests.server.test_checks_tls import https_target, make_certificate
from tests.server.test_events import open_stream, read_event, read_frame


@dataclass
class Target:
    """What the test server answers; tests change it between checks."""

    status: int = 200
    body: str = "all systems operational"
    payload: dict[str, Any] | None = None
    delay: float = 0.0


@pytest.fixture
async def target() -> AsyncIterator[tuple[Target, str]]:
    state = Target()

    async def handler(request: web.Request) -> web.Response:
        if state.delay:
            await asyncio.sleep(state.delay)
        if state.payload is not None:
            return web.json_response(state.payload, status=state.status)
        return web.Response(status=state.status, text=state.body)

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield state, f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


@pytest.fixture
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1, valid for 5 more days."""
    now = datetime.now(UTC)
    directory = tmp_path_factory.mktemp("ca")
    return make_certificate(
        directory, not_before=now - timedelta(days=1), not_after=now + timedelta(days=5)
    )


@pytest.fixture
def settings(settings: Settings, private_ca: Path) -> Settings:
    """The server trusts the test's certificate as a private CA (UPMETR_CHECK_CA_BUNDLE)."""
    return settings.model_copy(update={"check_ca_bundle": str(private_ca)})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def create_monitor(client: TestClient, person: Person, **body: Any) -> dict[str, Any]:
    body = {"name": "API", "type": "http", "failure_threshold": 1, "recovery_threshold": 1, **body}
    response = await client.post("/api/v1/monitors", json=body, headers=person.headers)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def wait_for_status(client: TestClient, person: Person, monitor_id: int, status: str) -> None:
    async with asyncio.timeout(5):
        while (await get_monitor(client, person, monitor_id))["status"] != status:
            await asyncio.sleep(0.1)


async def check_now(client: TestClient, person: Person, monitor_id: int) -> dict[str, Any]:
    response = await client.post(f"/api/v1/monitors/{monitor_id}/check-now", headers=person.headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def get_monitor(client: TestClient, person: Person, monitor_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/monitors/{monitor_id}", headers=person.headers)
    assert response.status == 200
    return dict(await response.json())


async def incidents_of(db: AsyncSession, monitor_id: int, trigger: str) -> list[Incident]:
    async with db.begin():
        rows = await db.scalars(
            select(Incident)
            .where(Incident.target_id == monitor_id, Incident.trigger_type == trigger)
            .order_by(Incident.id)
            .execution_options(populate_existing=True)  # the engine changed them meanwhile
        )
        return list(rows)


async def events_until(
    response: aiohttp.ClientResponse, last_type: str, limit: int = 50
) -> list[dict[str, Any]]:
    events = []
    for _ in range(limit):
        event = await read_event(response)
        events.append(event)
        if event["type"] == last_type:
            return events
    raise AssertionError(f"no {last_type} in {events}")


async def test_check_now_stores_the_result_and_the_monitor_state(
    client: TestClient, world: World, target: tuple[Target, str]
) -> None:
    _, url = target
    monitor = await create_monitor(client, world.alice, url=url)
    result = await check_now(client, world.alice, monitor["id"])
    assert (result["status"], result["status_code"], result["error"]) == ("up", 200, None)
    assert result["response_time_ms"] is not None
    shown = await get_monitor(client, world.alice, monitor["id"])
    assert shown["status"] == "up"
    assert shown["last_checked_at"] is not None
    assert shown["uptime_24h"] == 100.0
    checks = await client.get(f"/api/v1/monitors/{monitor['id']}/checks", headers=world.bob.headers)
    assert [item["id"] for item in (await checks.json())["items"]] == [result["id"]]
    metrics = await client.get(
        f"/api/v1/monitors/{monitor['id']}/metrics?range=1h", headers=world.bob.headers
    )
    assert (await metrics.json())["up"] == 1


async def test_a_viewer_cannot_check_now_and_carol_gets_404(
    client: TestClient, world: World, target: tuple[Target, str]
) -> None:
    monitor = await create_monitor(client, world.alice, url=target[1])
    path = f"/api/v1/monitors/{monitor['id']}/check-now"
    assert (await client.post(path, headers=world.bob.headers)).status == 403
    assert (await client.post(path, headers=world.carol.headers)).status == 404


async def test_a_failing_target_opens_one_incident_recovery_resolves_it_and_sse_shows_each_step(
    client: TestClient, world: World, db: AsyncSession, target: tuple[Target, str]
) -> None:
    state, url = target
    monitor = await create_monitor(
        client, world.alice, url=url, failure_threshold=2, recovery_threshold=2
    )
    alice_stream, _ = await open_stream(client, world.alice.headers)
    carol_stream, _ = await open_stream(client, world.carol.headers)

    await check_now(client, world.alice, monitor["id"])
    state.status = 503
    for _ in range(3):
        assert (await check_now(client, world.alice, monitor["id"]))["status"] == "down"
    assert len(await incidents_of(db, monitor["id"], "monitor_down")) == 1
    assert (await get_monitor(client, world.alice, monitor["id"]))["status"] == "down"
    state.status = 200
    await check_now(client, world.alice, monitor["id"])
    assert (await get_monitor(client, world.alice, monitor["id"]))["status"] == "down"
    await check_now(client, world.alice, monitor["id"])

    (incident,) = await incidents_of(db, monitor["id"], "monitor_down")
    assert incident.status == "resolved"
    assert incident.resolved_automatically is True
    events = await events_until(alice_stream, "incident.resolved")
    steps = [
        (event["type"], event["data"].get("status"))
        for event in events
        if event["type"] not in ("monitor.check", "notification.created")
    ]
    assert steps == [
        ("monitor.status", "up"),
        ("monitor.status", "down"),
        ("incident.opened", "open"),
        ("monitor.status", "up"),
        ("incident.resolved", "resolved"),
    ]
    checks = [event["data"]["status"] for event in events if event["type"] == "monitor.check"]
    assert checks == ["up", "down", "down", "down", "up", "up"]
    with pytest.raises(TimeoutError):
        frame = await read_frame(carol_stream, timeout=0.5)
        assert "event" not in frame  # pragma: no cover - a comment at most
        raise TimeoutError  # pragma: no cover


@pytest.mark.parametrize(
    ("kind", "fields", "healthy", "failing", "error"),
    [
        ("keyword", {"keyword": "operational"}, {"body": "all operational"},
         {"body": "major outage"}, "keyword"),
        ("json", {"json_path": "$.status", "expected_value": "ok"}, {"payload": {"status": "ok"}},
         {"payload": {"status": "failing"}}, "failing"),
        ("http", {"timeout_seconds": 1}, {"delay": 0.0}, {"delay": 1.5}, "timeout"),
    ],
)  # fmt: skip
async def test_each_check_type_goes_down_and_back_up_with_its_target(
    client: TestClient,
    world: World,
    db: AsyncSession,
    target: tuple[Target, str],
    kind: str,
    fields: dict[str, Any],
    healthy: dict[str, Any],
    failing: dict[str, Any],
    error: str,
) -> None:
    state, url = target
    monitor = await create_monitor(
        client, world.alice, type=kind, url=url, interval_seconds=60, **fields
    )
    for name, value in healthy.items():
        setattr(state, name, value)
    assert (await check_now(client, world.alice, monitor["id"]))["status"] == "up"
    for name, value in failing.items():
        setattr(state, name, value)
    down = await check_now(client, world.alice, monitor["id"])
    assert down["status"] == "down"
    assert error in down["error"]
    for name, value in healthy.items():
        setattr(state, name, value)
    assert (await check_now(client, world.alice, monitor["id"]))["status"] == "up"
    statuses = [
        incident.status for incident in await incidents_of(db, monitor["id"], "monitor_down")
    ]
    assert statuses == ["resolved"]


async def test_a_closed_tcp_port_is_down_and_an_open_one_up(
    client: TestClient, world: World, db: AsyncSession, target: tuple[Target, str]
) -> None:
    port = free_port()
    monitor = await create_monitor(client, world.alice, type="tcp", host="127.0.0.1", port=port)
    down = await check_now(client, world.alice, monitor["id"])
    assert (down["status"], down["error"]) == ("down", "connection refused")
    assert len(await incidents_of(db, monitor["id"], "monitor_down")) == 1
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", port)
    async with server:
        assert (await check_now(client, world.alice, monitor["id"]))["status"] == "up"
    (incident,) = await incidents_of(db, monitor["id"], "monitor_down")
    assert incident.status == "resolved"


async def test_slow_answers_are_degraded_and_open_a_warning_incident(
    client: TestClient, world: World, db: AsyncSession, target: tuple[Target, str]
) -> None:
    state, url = target
    monitor = await create_monitor(client, world.alice, url=url, degraded_threshold_ms=100)
    state.delay = 0.3
    result = await check_now(client, world.alice, monitor["id"])
    assert result["status"] == "degraded"
    assert "above 100 ms" in result["error"]
    (incident,) = await incidents_of(db, monitor["id"], "monitor_degraded")
    assert (incident.severity, incident.status) == ("warning", "open")
    assert (await get_monitor(client, world.alice, monitor["id"]))["status"] == "degraded"
    state.delay = 0.0
    await check_now(client, world.alice, monitor["id"])
    (incident,) = await incidents_of(db, monitor["id"], "monitor_degraded")
    assert incident.status == "resolved"


async def test_a_certificate_close_to_expiry_opens_an_ssl_expiring_incident(
    client: TestClient,
    world: World,
    db: AsyncSession,
    private_ca: Path,
) -> None:
    async with https_target(private_ca) as url:
        monitor = await create_monitor(client, world.alice, url=url, ssl_expiry_days=14)
        assert (await check_now(client, world.alice, monitor["id"]))["status"] == "up"
        assert (await check_now(client, world.alice, monitor["id"]))["status"] == "up"
    (incident,) = await incidents_of(db, monitor["id"], "ssl_expiring")
    assert incident.status == "open"
    assert "expires in 5 days" in incident.title or "expires in 4 days" in incident.title
    shown = await get_monitor(client, world.alice, monitor["id"])
    assert shown["ssl_expires_at"] is not None
    assert shown["status"] == "up"
    async with db.begin():  # told as its own event too, for rules about certificates
        told = (
            await db.execute(
                select(NotificationEvent.type, NotificationEvent.data).where(
                    NotificationEvent.type == "ssl.expiring"
                )
            )
        ).all()
    assert [(kind, data["monitor"]["id"]) for kind, data in told] == [
        ("ssl.expiring", monitor["id"])
    ]
    assert told[0][1]["monitor"]["ssl_expires_at"] == shown["ssl_expires_at"].replace("Z", "+00:00")


async def test_no_incident_opens_during_a_maintenance_window(
    client: TestClient, world: World, db: AsyncSession, target: tuple[Target, str]
) -> None:
    state, url = target
    monitor = await create_monitor(client, world.alice, url=url)
    now = datetime.now(UTC)
    window = {
        "starts_at": (now - timedelta(minutes=5)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "reason": "database upgrade",
    }
    response = await client.post(
        f"/api/v1/monitors/{monitor['id']}/maintenance", json=window, headers=world.alice.headers
    )
    assert response.status == 201, await response.text()
    state.status = 500
    assert (await check_now(client, world.alice, monitor["id"]))["status"] == "maintenance"
    assert await incidents_of(db, monitor["id"], "monitor_down") == []
    metrics = await client.get(
        f"/api/v1/monitors/{monitor['id']}/metrics?range=1h", headers=world.alice.headers
    )
    body = await metrics.json()
    assert (body["maintenance"], body["down"], body["uptime_pct"]) == (1, 0, None)


async def test_a_heartbeat_monitor_goes_down_on_a_failure_ping_and_up_on_a_good_one(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    monitor = await create_monitor(client, world.alice, type="heartbeat", interval_seconds=3600)
    ping = monitor["heartbeat_url"].split("/api/v1", 1)[1]
    assert (await check_now(client, world.alice, monitor["id"]))["status"] == "up"
    assert (await client.post(f"/api/v1{ping}/fail")).status == 200
    down = await check_now(client, world.alice, monitor["id"])
    assert (down["status"], down["error"]) == ("down", "the job reported a failure")
    assert (await client.get(f"/api/v1{ping}")).status == 200
    assert (await check_now(client, world.alice, monitor["id"]))["status"] == "up"
    (incident,) = await incidents_of(db, monitor["id"], "monitor_down")
    assert incident.status == "resolved"


async def test_failures_while_the_canary_fails_are_unknown_and_open_nothing(
    client: TestClient, world: World, db: AsyncSession, target: tuple[Target, str]
) -> None:
    state, url = target
    engine = client.app[CHECK_ENGINE]
    engine._canary = f"127.0.0.1:{free_port()}"  # a closed port: the server's network "is down"
    monitor = await create_monitor(client, world.alice, url=url)
    state.status = 500
    result = await check_now(client, world.alice, monitor["id"])
    assert result["status"] == "unknown"
    assert await incidents_of(db, monitor["id"], "monitor_down") == []
    assert (await get_monitor(client, world.alice, monitor["id"]))["status"] == "unknown"


async def test_a_paused_monitor_can_be_checked_without_changing_its_state(
    client: TestClient, world: World, db: AsyncSession, target: tuple[Target, str]
) -> None:
    state, url = target
    monitor = await create_monitor(client, world.alice, url=url, paused=True)
    state.status = 500
    assert (await check_now(client, world.alice, monitor["id"]))["status"] == "down"
    shown = await get_monitor(client, world.alice, monitor["id"])
    assert (shown["status"], shown["last_checked_at"]) == ("paused", None)
    assert await incidents_of(db, monitor["id"], "monitor_down") == []


async def test_the_scheduler_checks_a_new_monitor_at_once_and_keeps_its_interval(
    client: TestClient, world: World, db: AsyncSession, target: tuple[Target, str]
) -> None:
    engine = client.app[CHECK_ENGINE]
    runner = asyncio.create_task(engine.run())
    try:
        monitor = await create_monitor(
            client, world.alice, url=target[1], interval_seconds=10, timeout_seconds=5
        )
        await wait_for_status(client, world.alice, monitor["id"], "up")
        # A monitor due every second (set directly: the API's minimum is 10 s) runs each second.
        async with db.begin():
            row = await db.get(Monitor, monitor["id"])
            assert row is not None
            row.interval_seconds = 1
        await asyncio.sleep(3.5)
    finally:
        await engine.stop()
        runner.cancel()
    async with db.begin():
        count = await db.scalar(
            select(func.count())
            .select_from(CheckResult)
            .where(CheckResult.monitor_id == monitor["id"])
        )
    assert count is not None and 3 <= count <= 6
    assert engine.stats.drift and max(engine.stats.drift) < 1.0
    exposed = await (await client.get("/metrics")).text()
    assert "upmetr_check_schedule_drift_p99_seconds " in exposed
    assert f"upmetr_checks_total {float(engine.stats.finished)}" in exposed


async def test_api_changes_reach_the_engine_when_they_commit_not_at_its_next_poll(
    client: TestClient,
    world: World,
    target: tuple[Target, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checks, "POLL_SECONDS", 3600.0)  # no periodic poll in this test
    engine = client.app[CHECK_ENGINE]
    runner = asyncio.create_task(engine.run())
    try:
        await asyncio.sleep(0.5)  # loaded (nothing yet); the next poll is an hour away
        monitor = await create_monitor(client, world.alice, url=target[1])
        await wait_for_status(client, world.alice, monitor["id"], "up")
        for action in ("pause", "resume"):  # resumed: pending until checked again
            response = await client.post(
                f"/api/v1/monitors/{monitor['id']}/{action}", headers=world.alice.headers
            )
            assert response.status == 200, await response.text()
        assert (await get_monitor(client, world.alice, monitor["id"]))["status"] == "pending"
        await wait_for_status(client, world.alice, monitor["id"], "up")
    finally:
        await engine.stop()
        runner.cancel()


async def test_a_monitor_changed_while_its_check_runs_keeps_being_checked(
    client: TestClient, world: World, db: AsyncSession, target: tuple[Target, str]
) -> None:
    state, url = target
    state.delay = 0.8  # each check runs long enough for the change to land during it
    monitor = await create_monitor(
        client, world.alice, url=url, interval_seconds=10, timeout_seconds=1
    )
    async with db.begin():
        row = await db.get(Monitor, monitor["id"])
        assert row is not None
        row.interval_seconds = 1  # set directly: the API's minimum is 10 s
    engine = client.app[CHECK_ENGINE]
    runner = asyncio.create_task(engine.run())
    try:
        async with asyncio.timeout(5):
            while engine.stats.started == 0:
                await asyncio.sleep(0.05)
        renamed = await client.patch(
            f"/api/v1/monitors/{monitor['id']}", json={"name": "API (renamed)"},
            headers=world.alice.headers,
        )  # fmt: skip
        assert renamed.status == 200, await renamed.text()
        await asyncio.sleep(1.5)  # the engine's poll picks the change up mid-check
        started = engine.stats.started
        await asyncio.sleep(3.0)
        assert engine.stats.started >= started + 2
    finally:
        await engine.stop()
        runner.cancel()


async def test_metrics_need_the_metrics_token_when_one_is_set(
    client: TestClient, settings: Settings
) -> None:
    client.app[SETTINGS_KEY].metrics_token = "s3cret-scrape-token"
    assert (await client.get("/metrics")).status == 401
    response = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert response.status == 200
    assert "upmetr_check_results_written_total 0.0" in await response.text()


@pytest.mark.sqlite_only(reason="SQLite's busy timeout, the file locked by another connection")
async def test_results_wait_out_a_locked_database_and_are_written_after(
    client: TestClient, world: World, settings: Settings, target: tuple[Target, str]
) -> None:
    """The writer's transaction gives up after SQLite's busy timeout (5 s); the batch is
    kept and written on a retry, so the person waiting on check-now still gets the row."""
    monitor = await create_monitor(client, world.alice, url=target[1])
    engine = client.app[CHECK_ENGINE]
    async with client.app[SESSIONS]() as session:
        row = await session.get(Monitor, monitor["id"])
        assert row is not None
    database = sqlite3.connect(settings.data_dir / "upmetr.db")
    database.execute("BEGIN EXCLUSIVE")
    try:
        pending = asyncio.create_task(engine.check_now(row))
        await asyncio.sleep(6.0)
        assert not pending.done()
    finally:
        database.rollback()
        database.close()
    async with asyncio.timeout(15):
        result_id, judged = await pending
    assert result_id is not None
    assert judged.verdict.recorded_status == "up"
    assert engine._writer.stats.failures >= 1
    shown = await get_monitor(client, world.alice, monitor["id"])
    assert shown["status"] == "up"


async def test_a_new_monitor_is_checked_once_at_creation_and_next_after_its_interval(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    """A closed port fails three attempts a second apart, so its first check ends ~2 s after
    it started: a poll before that result was written once read the creation's due time
    back from the database and checked the monitor a second time."""
    engine = client.app[CHECK_ENGINE]
    runner = asyncio.create_task(engine.run())
    try:
        monitor = await create_monitor(
            client, world.alice, type="tcp", host="127.0.0.1", port=free_port()
        )
        async with asyncio.timeout(10):
            while engine.stats.finished == 0:
                await asyncio.sleep(0.05)
        await asyncio.sleep(4.0)  # several polls, and the result written
    finally:
        await engine.stop()
        runner.cancel()
    assert engine.stats.started == 1
    async with db.begin():
        rows = list(
            await db.scalars(select(CheckResult).where(CheckResult.monitor_id == monitor["id"]))
        )
        row = await db.get(Monitor, monitor["id"])
    assert [result.status for result in rows] == ["down"]
    assert row is not None and row.next_check_at is not None
    interval = (row.next_check_at - rows[0].checked_at).total_seconds()
    assert 55 <= interval <= 60, interval
