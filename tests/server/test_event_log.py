"""Live events across processes: what a worker publishes reaches the streams of an API
process through the database's event log, numbered once, resumable after a restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from server.app import build_app
from server.config import Settings
from server.context import EVENTS, SESSIONS
from server.engines.wakeups import Wakeups
from server.events import log as event_log
from server.events.log import EventLog
from shared.api.events import OtherEvent
from tests.conftest import World
from tests.server.test_events import open_stream, read_event, read_frame


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """The API role on the test's database: no engines, its streams fed by the event log."""
    async with TestClient(TestServer(build_app(settings, "api"), host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def worker_log(client: TestClient) -> AsyncIterator[EventLog]:  # type: ignore[type-arg]
    """The event log as a worker process has it (the `client` app stands for its database)."""
    log = EventLog(client.app[SESSIONS])
    await log.start()
    yield log
    await log.stop()


async def test_a_workers_event_reaches_an_api_stream_and_resumes_from_its_id(
    api: TestClient,  # type: ignore[type-arg]
    worker_log: EventLog,
    world: World,
) -> None:
    stream, position = await open_stream(api, world.alice.headers)
    worker_log.publish(world.org_a, OtherEvent.of("incident.opened", {"n": 1}))
    worker_log.publish(world.org_b, OtherEvent.of("incident.opened", {"n": "other org"}))
    worker_log.publish(world.org_a, OtherEvent.of("incident.resolved", {"n": 2}))
    first = await read_event(stream)
    second = await read_event(stream)
    stream.close()
    assert (first["type"], first["data"]) == ("incident.opened", {"n": 1})
    assert (second["type"], second["data"]) == ("incident.resolved", {"n": 2})
    assert position is not None and position < first["id"] < second["id"]

    resumed, _ = await open_stream(api, world.alice.headers, **{"Last-Event-ID": str(first["id"])})
    assert await read_event(resumed) == second
    resumed.close()


async def test_a_restarted_api_process_resumes_a_stream_from_the_log(
    settings: Settings,
    worker_log: EventLog,
    world: World,
) -> None:
    async with TestClient(TestServer(build_app(settings, "api"), host="127.0.0.1")) as first:
        stream, position = await open_stream(first, world.alice.headers)
        worker_log.publish(world.org_a, OtherEvent.of("monitor.check", {"n": 1}))
        seen = await read_event(stream)
        stream.close()
    worker_log.publish(world.org_a, OtherEvent.of("monitor.check", {"n": 2}))
    async with TestClient(TestServer(build_app(settings, "api"), host="127.0.0.1")) as second:
        resumed, _ = await open_stream(
            second, world.alice.headers, **{"Last-Event-ID": str(position)}
        )
        assert await read_event(resumed) == seen
        after = await read_event(resumed)
        assert after["data"] == {"n": 2} and after["id"] > seen["id"]
        resumed.close()


async def test_events_appended_in_a_transaction_that_rolls_back_are_never_sent(
    api: TestClient,  # type: ignore[type-arg]
    client: TestClient,  # type: ignore[type-arg]
    worker_log: EventLog,
    world: World,
) -> None:
    stream, _ = await open_stream(api, world.alice.headers)
    with pytest.raises(RuntimeError):
        async with client.app[SESSIONS]() as db, db.begin():
            await worker_log.append_in(db, [(world.org_a, OtherEvent.of("monitor.check", {}))])
            raise RuntimeError("the results failed to write")
    async with client.app[SESSIONS]() as db, db.begin():
        kept = OtherEvent.of("monitor.status", {"kept": True})
        await worker_log.append_in(db, [(world.org_a, kept)])
    worker_log.committed()
    event = await read_event(stream)
    assert (event["type"], event["data"]) == ("monitor.status", {"kept": True})
    stream.close()


async def test_a_requests_events_commit_with_its_change_not_after_it(
    api: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    """The log's own loop is stopped, so nothing held in memory would ever be written: the
    event is in the table as soon as the change is, and a crash right after the commit
    could not lose it."""
    log = api.app[EVENTS]
    assert isinstance(log, EventLog)
    await log.stop()
    response = await api.post(
        "/api/v1/incidents",
        json={"title": "Checkout is down", "severity": "critical"},
        headers=world.alice.headers,
    )
    assert response.status == 201, await response.text()
    incident = await response.json()
    async with api.app[SESSIONS]() as db:
        rows = (
            await db.execute(text("SELECT org_id, type, data FROM live_event ORDER BY id"))
        ).all()
    assert log.pending == 0
    opened = [
        (org_id, json.loads(data)["id"]) for org_id, kind, data in rows if kind == "incident.opened"
    ]
    assert opened == [(world.org_a, incident["id"])]


async def test_a_resume_point_the_log_never_gave_is_a_reset(
    api: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    stream, _ = await open_stream(api, world.alice.headers, **{"Last-Event-ID": str(10**12)})
    frame = await read_frame(stream)
    assert frame["event"] == "stream.reset"
    stream.close()


async def test_wake_ups_reach_the_other_process_and_a_missing_one_is_no_error(
    tmp_path: Path,
) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()
    worker = Wakeups(tmp_path / "run", "worker")
    worker.on("refresh", received.put_nowait)
    api = Wakeups(tmp_path / "run", "api")
    await worker.start()
    await api.start()
    try:
        api.send("worker", "refresh:42")
        api.send("worker", "unknown:1")  # ignored
        api.send("nobody", "checks")  # no such process: nothing happens
        assert await asyncio.wait_for(received.get(), 5) == "42"
    finally:
        await api.stop()
        await worker.stop()
    assert not (tmp_path / "run" / "worker.sock").exists()


async def test_the_log_keeps_only_its_newest_events(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(event_log, "KEEP_EVENTS", 3)
    monkeypatch.setattr(event_log, "PRUNE_SECONDS", 0.0)
    log = EventLog(client.app[SESSIONS])
    for n in range(10):
        log.publish(world.org_a, OtherEvent.of("monitor.check", {"n": n}))
    await log.run_once()  # writes the ten
    await log.run_once()  # prunes
    async with client.app[SESSIONS]() as db:
        kept = (await db.execute(text("SELECT data FROM live_event ORDER BY id"))).scalars()
        assert [json.loads(data)["n"] for data in kept] == [7, 8, 9]
