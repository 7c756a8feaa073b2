"""Every live event the server sends is one of the declared types, with only declared fields."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

import server
from server.events.bus import MemoryEventBus
from server.routes import ROUTES
from shared.api import events as events_api
from shared.api.common import API_PREFIX
from shared.api.events import EVENT_MODELS, OtherEvent, StreamReset, event_types, known_events
from tests.conftest import World
from tests.server.test_events import open_stream, read_event

API = "/api/v1"


async def test_events_of_monitor_and_incident_changes_validate_against_their_models(
    client: TestClient,
    world: World,
) -> None:
    response, _ = await open_stream(client, world.bob.headers)
    alice = world.alice.headers

    async def post(path: str, body: Any = None) -> dict[str, Any]:
        answer = await client.post(API + path, json=body, headers=alice)
        assert answer.status in (200, 201), await answer.text()
        found: dict[str, Any] = await answer.json()
        return found

    monitor = await post(
        "/monitors", {"name": "db", "type": "tcp", "host": "127.0.0.1", "port": 9, "paused": True}
    )
    await post(f"/monitors/{monitor['id']}/resume")
    await post(f"/monitors/{monitor['id']}/pause")
    assert (await client.delete(f"{API}/monitors/{monitor['id']}", headers=alice)).status == 204
    incident = await post("/incidents", {"title": "API slow", "severity": "warning"})
    await post(f"/incidents/{incident['id']}/acknowledge", {})
    await post(f"/incidents/{incident['id']}/notes", {"text": "looking"})
    await post(f"/incidents/{incident['id']}/resolve", {})
    assert (await client.delete(f"{API}/incidents/{incident['id']}", headers=alice)).status == 204

    expected = [
        "monitor.created",
        "monitor.status",
        "monitor.status",
        "monitor.deleted",
        "incident.opened",
        "notification.created",  # bob's inbox line of each change; alice's are not his
        "incident.acknowledged",
        "notification.created",
        "incident.note",
        "incident.resolved",
        "notification.created",
        "incident.deleted",
    ]
    seen = [await read_event(response) for _ in expected]
    response.close()
    assert [event["type"] for event in seen] == expected
    for event in seen:
        parsed = known_events().validate_python({**event["data"], "event_type": event["type"]})
        assert parsed.model_extra == {}, event
        assert parsed.wire() == event["data"]


def published_models() -> set[str]:
    """Names of the event models the server's code builds (read from its source)."""
    names = {model.__name__ for model in EVENT_MODELS}
    found: set[str] = set()
    for path in Path(server.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if name in names:
                    found.add(name)
    return found


def test_the_server_builds_every_declared_event_model() -> None:
    assert published_models() == {model.__name__ for model in EVENT_MODELS}


def test_the_server_has_no_hand_built_event_left() -> None:
    """Publishing takes a model: no event type string is passed beside a dict any more."""
    for path in Path(server.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("publish", "publish_after_commit")
            ):
                assert len(node.args) <= 2 and not any(
                    isinstance(arg, ast.Dict | ast.Constant) for arg in node.args
                ), f"{path}:{node.lineno}"


def test_every_event_type_is_in_the_openapi_document() -> None:
    from server.http.openapi import build_openapi

    document = json.loads(json.dumps(build_openapi(ROUTES, prefix=API_PREFIX, version="test")))
    stream = document["paths"][API_PREFIX + "/events"]["get"]["responses"]["200"]
    union = stream["content"]["text/event-stream"]["x-events"]
    mapping = union["discriminator"]["mapping"]
    schemas = document["components"]["schemas"]
    for model in EVENT_MODELS:
        ref = f"#/components/schemas/{model.__name__}"
        assert {"$ref": ref} in union["oneOf"]
        assert model.__name__ in schemas
        for name in event_types(model):
            assert mapping[name] == ref
            assert f"`{name}`" in stream["description"]
    published = published_models()
    assert published <= {ref.rsplit("/", 1)[-1] for ref in mapping.values()}
    assert events_api.STREAM_RESET in mapping


async def test_the_bus_drops_what_it_cannot_send_and_never_raises() -> None:
    bus = MemoryEventBus()
    subscription = bus.subscribe(1, after=None)
    bus.publish(1, OtherEvent.of("split\nframe", {}))
    bus.publish(1, {"type": "monitor.status"})  # type: ignore[arg-type]
    bus.publish(1, StreamReset(reason="unknown", last_event_id=1))
    sent = await subscription.next()
    assert sent is not None
    assert (sent.id, sent.type) == (subscription.position + 1, "stream.reset")
    assert json.loads(sent.data_json) == {"reason": "unknown", "last_event_id": 1}
    subscription.close()
