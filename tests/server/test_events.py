"""GET /events: live events of the caller's organization as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import build_app
from server.config import Settings
from server.context import ENGINE, EVENTS, SETTINGS
from server.events.bus import BUFFER_SIZE, EVENT_BUS, QUEUE_SIZE
from shared.api.events import OtherEvent
from tests.conftest import World, sign_in

EVENTS_PATH = "/api/v1/events"


async def read_frame(response: aiohttp.ClientResponse, timeout: float = 5.0) -> dict[str, str]:
    """The next block of SSE fields up to a blank line ({} at the end of the stream).

    A comment comes back as {"comment": text}.
    """
    fields: dict[str, str] = {}
    async with asyncio.timeout(timeout):
        while True:
            line = await response.content.readline()
            if not line:
                return fields
            text = line.decode().rstrip("\n")
            if not text:
                if fields:
                    return fields
                continue
            name, _, value = text.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")


async def read_event(response: aiohttp.ClientResponse) -> dict[str, Any]:
    frame = await read_frame(response)
    assert "event" in frame, frame
    return {"id": int(frame["id"]), "type": frame["event"], "data": json.loads(frame["data"])}


async def open_stream(
    client: TestClient,
    headers: dict[str, str],
    **extra: str,
) -> tuple[aiohttp.ClientResponse, int | None]:
    """Connect; without a resume point, also read the position frame and return its id."""
    response = await client.get(EVENTS_PATH, headers={**headers, **extra})
    assert response.status == 200, await response.text()
    if "Last-Event-ID" in extra:
        return response, None
    frame = await read_frame(response)
    assert set(frame) == {"retry", "id"}, frame
    return response, int(frame["id"])


async def test_events_need_a_token(client: TestClient) -> None:
    response = await client.get(EVENTS_PATH)
    assert response.status == 401
    assert "detail" in await response.json()


async def test_a_viewer_receives_the_organizations_events_as_they_happen(
    client: TestClient,
    world: World,
) -> None:
    response, position = await open_stream(client, world.bob.headers)
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "X-RateLimit-Remaining" in response.headers
    client.app[EVENTS].publish(
        world.org_a, OtherEvent.of("incident.opened", {"id": 7, "title": "API down"})
    )
    event = await read_event(response)
    assert event["type"] == "incident.opened"
    assert event["data"] == {"id": 7, "title": "API down"}
    assert position is not None and event["id"] == position + 1
    response.close()


async def test_event_ids_increase(client: TestClient, world: World) -> None:
    response, _ = await open_stream(client, world.alice.headers)
    for n in range(3):
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.check", {"n": n}))
    ids = [(await read_event(response))["id"] for _ in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    response.close()


async def test_events_stream_only_the_callers_organization(
    client: TestClient,
    world: World,
) -> None:
    carols, _ = await open_stream(client, world.carol.headers)
    alices, _ = await open_stream(client, world.alice.headers)
    client.app[EVENTS].publish(
        world.org_a, OtherEvent.of("incident.opened", {"title": "secret of org A"})
    )
    client.app[EVENTS].publish(world.org_b, OtherEvent.of("incident.opened", {"title": "org B"}))
    assert (await read_event(carols))["data"] == {"title": "org B"}
    assert (await read_event(alices))["data"] == {"title": "secret of org A"}
    carols.close()
    alices.close()


async def test_last_event_id_resumes_from_the_buffer(
    client: TestClient,
    world: World,
) -> None:
    publish = client.app[EVENTS].publish
    response, _ = await open_stream(client, world.alice.headers)
    for n in range(3):
        publish(world.org_a, OtherEvent.of("monitor.status", {"n": n}))
    seen = [await read_event(response) for _ in range(2)]
    response.close()
    publish(world.org_a, OtherEvent.of("monitor.status", {"n": 3}))  # while disconnected

    resumed, _ = await open_stream(
        client, world.alice.headers, **{"Last-Event-ID": str(seen[-1]["id"])}
    )
    replayed = [await read_event(resumed) for _ in range(2)]
    assert [event["data"]["n"] for event in replayed] == [2, 3]
    assert replayed[0]["id"] == seen[-1]["id"] + 1
    publish(world.org_a, OtherEvent.of("monitor.status", {"n": 4}))
    assert (await read_event(resumed))["data"] == {"n": 4}
    resumed.close()


async def test_the_query_parameter_resumes_when_no_header_is_sent(
    client: TestClient,
    world: World,
) -> None:
    response, position = await open_stream(client, world.alice.headers)
    response.close()
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.note", {"n": 1}))
    resumed = await client.get(
        EVENTS_PATH, params={"last_event_id": str(position)}, headers=world.alice.headers
    )
    assert resumed.status == 200
    assert (await read_event(resumed))["data"] == {"n": 1}
    resumed.close()


async def test_a_resume_older_than_the_buffer_gets_stream_reset(
    client: TestClient,
    world: World,
) -> None:
    response, position = await open_stream(client, world.alice.headers)
    response.close()
    for n in range(BUFFER_SIZE + 1):
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.check", {"n": n}))
    assert position is not None
    resumed, _ = await open_stream(client, world.alice.headers, **{"Last-Event-ID": str(position)})
    reset = await read_event(resumed)
    newest = position + BUFFER_SIZE + 1
    assert reset["type"] == "stream.reset"
    assert reset["id"] == newest
    assert reset["data"]["last_event_id"] == newest
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.check", {"n": "after"}))
    assert await read_event(resumed) == {
        "id": newest + 1,
        "type": "monitor.check",
        "data": {"n": "after"},
    }
    resumed.close()


async def test_a_resume_point_from_an_earlier_server_process_gets_stream_reset(
    client: TestClient,
    world: World,
) -> None:
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.check", {}))
    response, _ = await open_stream(client, world.alice.headers, **{"Last-Event-ID": "3"})
    assert (await read_event(response))["type"] == "stream.reset"
    response.close()


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999999999999"])
async def test_a_last_event_id_that_is_not_an_id_is_400(
    client: TestClient,
    world: World,
    value: str,
) -> None:
    response = await client.get(
        EVENTS_PATH, headers={**world.alice.headers, "Last-Event-ID": value}
    )
    assert response.status == 400
    assert "Last-Event-ID" in (await response.json())["detail"]
    query = await client.get(
        EVENTS_PATH, params={"last_event_id": value}, headers=world.alice.headers
    )
    assert query.status == 400


async def test_heartbeat_comment_is_sent(settings: Settings, world: World) -> None:
    app = build_app(settings.model_copy(update={"sse_heartbeat_seconds": 0.05}))
    async with TestClient(TestServer(app, host="127.0.0.1")) as fast:
        alice = await sign_in(fast, world.alice)
        response, _ = await open_stream(fast, alice.headers)
        assert await read_frame(response) == {"comment": "ping"}
        assert await read_frame(response) == {"comment": "ping"}
        response.close()


async def test_a_stream_ends_after_its_maximum_and_the_client_resumes(
    settings: Settings, world: World
) -> None:
    app = build_app(settings.model_copy(update={"sse_max_seconds": 0.3}))
    async with TestClient(TestServer(app, host="127.0.0.1")) as bounded:
        alice = await sign_in(bounded, world.alice)
        response, position = await open_stream(bounded, alice.headers)
        rest = await asyncio.wait_for(response.read(), timeout=5)  # returns: the stream ended
        assert rest == b"" and response.content.at_eof()
        again, _ = await open_stream(bounded, alice.headers, **{"Last-Event-ID": str(position)})
        assert again.status == 200
        again.close()


async def test_a_stream_that_falls_behind_is_dropped_and_resumes_without_loss(
    client: TestClient,
    world: World,
) -> None:
    """Published in one go, the events overflow the stream's queue: the publisher does not
    wait, the stream sends what it held and ends, and a resume delivers the rest."""
    response, _ = await open_stream(client, world.alice.headers)
    total = QUEUE_SIZE + 50
    for n in range(total):
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.check", {"n": n}))
    assert client.app[EVENT_BUS].subscriber_count(world.org_a) == 0  # dropped at once
    received = []
    while frame := await read_frame(response):
        received.append(json.loads(frame["data"])["n"])
        last_id = frame["id"]
    assert received == list(range(QUEUE_SIZE))
    resumed, _ = await open_stream(client, world.alice.headers, **{"Last-Event-ID": last_id})
    while len(received) < total:
        received.append((await read_event(resumed))["data"]["n"])
    assert received == list(range(total))
    resumed.close()


async def test_a_whole_check_writer_batch_of_events_does_not_drop_a_stream(
    client: TestClient,
    world: World,
) -> None:
    """The check writer publishes a batch's events in one go; a console must not be cut off
    (and made to reconnect) by each batch."""
    batch = client.app[SETTINGS].check_batch_size
    response, _ = await open_stream(client, world.alice.headers)
    for n in range(batch):
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.check", {"n": n}))
    assert client.app[EVENT_BUS].subscriber_count(world.org_a) == 1
    received = [(await read_event(response))["data"]["n"] for _ in range(batch)]
    assert received == list(range(batch))
    response.close()


async def test_a_client_that_disconnects_leaves_no_subscriber(
    client: TestClient,
    world: World,
) -> None:
    bus = client.app[EVENT_BUS]
    response, _ = await open_stream(client, world.alice.headers)
    assert bus.subscriber_count(world.org_a) == 1
    response.close()
    async with asyncio.timeout(5):
        while bus.subscriber_count(world.org_a):
            await asyncio.sleep(0.05)


async def test_an_open_stream_holds_no_database_connection(
    client: TestClient,
    world: World,
) -> None:
    response, _ = await open_stream(client, world.alice.headers)
    assert client.app[ENGINE].pool.checkedout() == 0
    response.close()


async def test_stream_ends_on_shutdown(settings: Settings, world: World) -> None:
    server = TestServer(build_app(settings), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        login = await session.post(
            server.make_url("/api/v1/auth/login"),
            json={"email": world.alice.email, "password": world.alice.password},
        )
        token = (await login.json())["access_token"]
        response = await session.get(
            server.make_url(EVENTS_PATH), headers={"Authorization": f"Bearer {token}"}
        )
        assert "id" in await read_frame(response)
        server.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.resolved", {"id": 1}))
        async with asyncio.timeout(5):  # the default shutdown timeout is 60 s
            await server.close()
        assert (await read_frame(response))["event"] == "incident.resolved"
        assert await read_frame(response) == {}  # the end of the stream, not an error


async def test_creating_and_deleting_a_monitor_are_live_events(
    client: TestClient,
    world: World,
) -> None:
    """Views that count or list monitors learn of one that came or went without a re-read."""
    response, _ = await open_stream(client, world.bob.headers)
    created = await client.post(
        "/api/v1/monitors",
        json={"name": "new", "type": "tcp", "host": "127.0.0.1", "port": 9, "paused": True},
        headers=world.alice.headers,
    )
    assert created.status == 201, await created.text()
    monitor_id = (await created.json())["id"]
    deleted = await client.delete(f"/api/v1/monitors/{monitor_id}", headers=world.alice.headers)
    assert deleted.status == 204
    seen = [await read_event(response) for _ in range(2)]
    response.close()
    expected = {"monitor_id": monitor_id, "name": "new", "status": "paused"}
    assert [(event["type"], event["data"]) for event in seen] == [
        ("monitor.created", expected),
        ("monitor.deleted", expected),
    ]
