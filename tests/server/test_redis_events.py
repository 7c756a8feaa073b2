"""With UPMETR_REDIS_URL, live events go through one Redis stream that every API process
follows, and wake-ups through Redis pub/sub: what one process raises, every process's
streams send, under one id sequence, so a client resumes on whichever process it reaches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, insert, select

from server.app import build_app
from server.config import Settings
from server.context import EVENTS, SESSIONS
from server.engines.redis_wakeups import RedisWakeups
from server.events.models import LiveEvent
from shared.api.events import OtherEvent
from tests.conftest import World
from tests.redis_server import redis_url  # noqa: F401 - a fixture
from tests.server.test_events import open_stream, read_event


@pytest.fixture
async def fresh_redis(redis_url: str) -> AsyncIterator[str]:  # noqa: F811
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    yield redis_url


@pytest.fixture
def settings(settings: Settings, fresh_redis: str) -> Settings:
    return settings.model_copy(update={"redis_url": fresh_redis})


@pytest.fixture
async def other(settings: Settings) -> AsyncIterator[TestClient]:
    """A second API process on the same database and Redis."""
    async with TestClient(TestServer(build_app(settings), host="127.0.0.1")) as client:
        yield client


async def test_an_event_raised_in_one_process_streams_from_every_process(
    client: TestClient, other: TestClient, world: World
) -> None:
    here, position = await open_stream(client, world.alice.headers)
    there, _ = await open_stream(other, world.alice.headers)
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.opened", {"n": 1}))
    other.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.opened", {"n": 2}))
    seen_here = [await read_event(here) for _ in range(2)]
    seen_there = [await read_event(there) for _ in range(2)]
    assert seen_here == seen_there  # the same events, ids and order on both
    assert sorted(e["data"]["n"] for e in seen_here) == [1, 2]
    ids = [e["id"] for e in seen_here]
    assert position is not None and ids == [position + 1, position + 2]
    here.close()
    there.close()


async def test_a_client_resumes_on_another_process(
    client: TestClient, other: TestClient, world: World
) -> None:
    stream, _ = await open_stream(client, world.alice.headers)
    for n in range(3):
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.status", {"n": n}))
    first = await read_event(stream)
    stream.close()  # the process behind a load balancer went away
    resumed, _ = await open_stream(
        other, world.alice.headers, **{"Last-Event-ID": str(first["id"])}
    )
    replayed = [await read_event(resumed) for _ in range(2)]
    assert [e["data"]["n"] for e in replayed] == [1, 2]
    assert replayed[0]["id"] == first["id"] + 1
    resumed.close()


async def test_a_process_started_later_resumes_from_the_stream(
    client: TestClient, world: World, settings: Settings
) -> None:
    stream, _ = await open_stream(client, world.alice.headers)
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.status", {"n": 0}))
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.status", {"n": 1}))
    first = await read_event(stream)
    await read_event(stream)
    stream.close()
    async with TestClient(TestServer(build_app(settings), host="127.0.0.1")) as late:
        resumed, _ = await open_stream(
            late, world.alice.headers, **{"Last-Event-ID": str(first["id"])}
        )
        assert (await read_event(resumed))["data"] == {"n": 1}
        resumed.close()


async def test_events_of_another_organization_stay_there(
    client: TestClient, other: TestClient, world: World
) -> None:
    carols, _ = await open_stream(other, world.carol.headers)
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.opened", {"secret": "a"}))
    client.app[EVENTS].publish(world.org_b, OtherEvent.of("incident.opened", {"for": "b"}))
    assert (await read_event(carols))["data"] == {"for": "b"}
    carols.close()


async def test_wake_ups_reach_every_process_of_the_role(fresh_redis: str) -> None:
    client = aioredis.Redis.from_url(fresh_redis, decode_responses=True)
    workers = [RedisWakeups(client, "worker") for _ in range(2)]
    api = RedisWakeups(client, "api")
    heard: list[tuple[int, str]] = []
    for number, worker in enumerate(workers):
        worker.on("refresh", lambda argument, n=number: heard.append((n, argument)))
    api.on("refresh", lambda argument: heard.append((-1, argument)))
    for each in (*workers, api):
        await each.start()
    try:
        api.send("worker", "refresh:42")
        async with asyncio.timeout(5):
            while len(heard) < 2:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert sorted(heard) == [(0, "42"), (1, "42")]  # every worker; not the API
    finally:
        for each in (*workers, api):
            await each.stop()
        await client.aclose()


async def test_an_event_committed_by_a_process_that_died_reaches_the_streams(
    client: TestClient, world: World
) -> None:
    """The log is the outbox: a row committed and never relayed (its process killed right
    after the commit) is relayed by the relay of a process still running."""
    stream, _ = await open_stream(client, world.alice.headers)
    async with client.app[SESSIONS]() as db, db.begin():
        await db.execute(
            insert(LiveEvent).values(
                org_id=world.org_a, type="incident.opened", data='{"orphan": true}'
            )
        )
    assert (await read_event(stream))["data"] == {"orphan": True}
    stream.close()
    # The relay's mark commits after its append to the stream, so the event can arrive
    # first: the row is marked within a moment, not necessarily by now.
    async with asyncio.timeout(10):
        while True:
            async with client.app[SESSIONS]() as db:
                waiting = await db.scalar(
                    select(func.count())
                    .select_from(LiveEvent)
                    .where(LiveEvent.relayed_at_ms.is_(None))
                )
            if waiting == 0:
                break
            await asyncio.sleep(0.05)
