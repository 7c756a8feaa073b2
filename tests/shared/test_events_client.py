"""`api.events.stream()` against a real server on 127.0.0.1: resume, reconnect, auth."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import build_app
from server.config import Settings
from server.context import EVENTS
from server.events.bus import EVENT_BUS, QUEUE_SIZE
from shared.api.auth import TokenPair
from shared.api.events import Event, OtherEvent
from shared.client import ApiConnectionError, AsyncClient, Client, Unauthorized
from tests.conftest import World
from tests.e2e.upmetr_server import free_port

FAST: dict[str, Any] = {"initial_delay": 0.05, "max_delay": 0.2}


def url_of(client: TestClient) -> str:
    return str(client.make_url("/"))


async def next_event(events: AsyncIterator[Event], timeout: float = 5.0) -> Event:
    return await asyncio.wait_for(anext(events), timeout)


async def subscribed(app_client: TestClient, org_id: int, count: int = 1) -> None:
    """Wait until the server holds `count` streams of the org, so a publish reaches them."""
    async with asyncio.timeout(5):
        while app_client.app[EVENT_BUS].subscriber_count(org_id) < count:
            await asyncio.sleep(0.01)


async def test_the_async_stream_yields_the_organizations_events(
    client: TestClient,
    world: World,
) -> None:
    async with AsyncClient(url_of(client), access_token=world.bob.access_token) as api:
        events = api.events.stream()
        reading = asyncio.ensure_future(next_event(events))
        await subscribed(client, world.org_a)
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.opened", {"id": 3}))
        event = await reading
        assert (event.type, event.data.wire()) == ("incident.opened", {"id": 3})
        await events.aclose()


async def test_the_stream_reconnects_and_resumes_without_losing_or_repeating_events(
    client: TestClient,
    world: World,
) -> None:
    """Published in one go, the events overflow the server's queue for this stream, so the
    server ends it after QUEUE_SIZE events; the client reconnects and resumes the rest."""
    total = QUEUE_SIZE + 40
    async with AsyncClient(url_of(client), access_token=world.alice.access_token) as api:
        events = api.events.stream(**FAST)
        reading = asyncio.ensure_future(next_event(events))
        await subscribed(client, world.org_a)
        for n in range(total):
            client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.check", {"n": n}))
        assert client.app[EVENT_BUS].subscriber_count(world.org_a) == 0  # the server dropped it
        received = [await reading]
        while len(received) < total:
            received.append(await next_event(events))
        assert [event.data.wire()["n"] for event in received] == list(range(total))
        ids = [event.id for event in received]
        assert ids == sorted(set(ids))
        await events.aclose()


async def test_after_a_server_restart_the_stream_reports_a_reset_and_goes_on(
    settings: Settings,
    world: World,
) -> None:
    """It also tells its caller the connection was lost, then live again."""
    port = free_port()
    first = TestServer(build_app(settings), host="127.0.0.1", port=port)
    await first.start_server()
    api = AsyncClient(f"http://127.0.0.1:{port}", access_token=world.alice.access_token)
    connection: list[bool] = []
    events = api.events.stream(**FAST, on_connection=connection.append)
    reading = asyncio.ensure_future(next_event(events))
    async with asyncio.timeout(5):
        while first.app[EVENT_BUS].subscriber_count(world.org_a) < 1:
            await asyncio.sleep(0.01)
    first.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.opened", {"n": 1}))
    assert (await reading).data.wire() == {"n": 1}
    await first.close()

    second = TestServer(build_app(settings), host="127.0.0.1", port=port)
    await second.start_server()
    try:
        reset = await next_event(events)  # a new process: its buffer lacks what came before
        assert reset.type == "stream.reset"
        assert connection[0] is True and connection[-1] is True
        assert False in connection
        second.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.resolved", {"n": 2}))
        event = await next_event(events)
        assert (event.type, event.data.wire()) == ("incident.resolved", {"n": 2})
        assert event.id > reset.id
    finally:
        await events.aclose()
        await api.aclose()
        await second.close()


async def test_an_expired_access_token_is_refreshed_and_the_stream_goes_on(
    client: TestClient,
    world: World,
) -> None:
    adopted: list[TokenPair] = []
    api = AsyncClient(
        url_of(client),
        access_token="not-a-valid-token",
        refresh_token=world.alice.refresh_token,
        on_tokens=adopted.append,
    )
    async with api:
        events = api.events.stream()
        reading = asyncio.ensure_future(next_event(events))
        await subscribed(client, world.org_a)
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.acknowledged", {"id": 1}))
        assert (await reading).type == "incident.acknowledged"
        assert len(adopted) == 1 and api.access_token == adopted[0].access_token
        await events.aclose()


async def test_a_rejected_token_is_raised_not_retried(
    client: TestClient,
    world: World,
) -> None:
    async with AsyncClient(url_of(client), api_key="upk_not-a-key") as api:
        with pytest.raises(Unauthorized):
            await next_event(api.events.stream())


async def test_reconnects_are_bounded_when_asked(world: World) -> None:
    async with AsyncClient(f"http://127.0.0.1:{free_port()}", api_key="upk_x") as api:
        events = api.events.stream(max_reconnects=2, **FAST)
        with pytest.raises(ApiConnectionError):
            await next_event(events)


async def test_the_sync_client_streams_too(
    client: TestClient,
    world: World,
) -> None:
    def first_event() -> Event:
        with Client(url_of(client), access_token=world.bob.access_token) as api:
            events = api.events.stream()
            event = next(events)
            events.close()
            return event

    reading = asyncio.ensure_future(asyncio.to_thread(first_event))
    await subscribed(client, world.org_a)
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.status", {"status": "down"}))
    event = await asyncio.wait_for(reading, 5)
    assert (event.type, event.data.wire()) == ("monitor.status", {"status": "down"})
