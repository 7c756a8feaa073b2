"""Incidents over HTTP: lifecycle, timeline, roles, tenancy, bulk actions, audit and events."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.events.bus import EVENT_BUS
from server.incidents import service as incidents
from server.incidents.models import Incident, IncidentEvent
from server.service_context import Context
from shared.api.incidents import TriggerType
from tests.conftest import World

INCIDENTS = "/api/v1/incidents"
MANUAL = {"title": "Checkout is slow", "severity": "warning", "description": "p95 over 2 s"}


async def create(client: TestClient, world: World, **changes: Any) -> dict[str, Any]:
    response = await client.post(INCIDENTS, json={**MANUAL, **changes}, headers=world.alice.headers)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def post(
    client: TestClient, world: World, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    response = await client.post(f"{INCIDENTS}{path}", json=body or {}, headers=world.alice.headers)
    payload = await response.json() if response.status != 204 else {}
    return response.status, payload


async def detail(client: TestClient, world: World, incident_id: int) -> dict[str, Any]:
    response = await client.get(f"{INCIDENTS}/{incident_id}", headers=world.alice.headers)
    assert response.status == 200, await response.text()
    found: dict[str, Any] = await response.json()
    return found


async def audit_actions(db: AsyncSession, org_id: int) -> list[str]:
    async with db.begin():
        rows = await db.scalars(
            select(AuditLog.action)
            .where(AuditLog.org_id == org_id, AuditLog.action.like("incident.%"))
            .order_by(AuditLog.id)
        )
        return list(rows)


async def test_admin_opens_a_manual_incident_with_an_opened_event(
    client: TestClient, world: World
) -> None:
    created = await create(client, world)
    assert (created["status"], created["severity"], created["trigger_type"]) == (
        "open",
        "warning",
        "manual",
    )
    assert created["created_by_id"] == world.alice.user_id
    assert created["target_type"] is None and created["duration_seconds"] is None
    assert created["opened_at"].endswith("Z")
    found = await detail(client, world, created["id"])
    assert [(e["kind"], e["actor"], e["text"]) for e in found["timeline"]] == [
        ("opened", "alice@example.com", "p95 over 2 s")
    ]


async def test_viewer_reads_incidents_but_cannot_open_one(client: TestClient, world: World) -> None:
    created = await create(client, world)
    response = await client.get(f"{INCIDENTS}/{created['id']}", headers=world.bob.headers)
    assert response.status == 200
    response = await client.post(INCIDENTS, json=MANUAL, headers=world.bob.headers)
    assert response.status == 403


async def test_viewer_cannot_acknowledge_incident(client: TestClient, world: World) -> None:
    created = await create(client, world)
    for action in ("acknowledge", "resolve"):
        response = await client.post(
            f"{INCIDENTS}/{created['id']}/{action}", json={}, headers=world.bob.headers
        )
        assert response.status == 403
        assert "admin role" in (await response.json())["detail"]
    assert (await detail(client, world, created["id"]))["status"] == "open"


async def test_acknowledge_only_from_open_else_409(client: TestClient, world: World) -> None:
    created = await create(client, world)
    status, acknowledged = await post(
        client, world, f"/{created['id']}/acknowledge", {"note": "on it"}
    )
    assert status == 200
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_by_id"] == world.alice.user_id
    assert acknowledged["acknowledged_at"] is not None
    status, conflict = await post(client, world, f"/{created['id']}/acknowledge")
    assert status == 409
    assert "only an open one" in conflict["detail"]
    await post(client, world, f"/{created['id']}/resolve")
    status, _ = await post(client, world, f"/{created['id']}/acknowledge")
    assert status == 409


async def test_resolve_from_open_or_acknowledged_else_409(client: TestClient, world: World) -> None:
    straight = await create(client, world)
    via_ack = await create(client, world)
    await post(client, world, f"/{via_ack['id']}/acknowledge")
    for incident in (straight, via_ack):
        status, resolved = await post(
            client, world, f"/{incident['id']}/resolve", {"note": "rolled back"}
        )
        assert status == 200
        assert (resolved["status"], resolved["resolved_automatically"]) == ("resolved", False)
        assert resolved["resolved_by_id"] == world.alice.user_id
        assert resolved["duration_seconds"] is not None
    status, conflict = await post(client, world, f"/{straight['id']}/resolve")
    assert status == 409
    assert "already resolved" in conflict["detail"]


async def test_manual_resolution_records_who_and_how_long_in_the_timeline(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = await create(client, world)
    async with db.begin():
        await db.execute(
            update(Incident)
            .where(Incident.id == created["id"])
            .values(opened_at=datetime.now(UTC) - timedelta(hours=1, minutes=5, seconds=3))
        )
    await post(client, world, f"/{created['id']}/acknowledge", {"note": "looking"})
    await post(client, world, f"/{created['id']}/resolve", {"note": "rolled back"})
    found = await detail(client, world, created["id"])
    assert [(e["kind"], e["text"]) for e in found["timeline"]] == [
        ("opened", "p95 over 2 s"),
        ("acknowledged", "looking"),
        ("resolved", "Resolved by alice@example.com after 1h 5m: rolled back"),
    ]
    assert 3903 <= found["duration_seconds"] <= 3910


async def test_notes_are_added_to_the_timeline_in_order(client: TestClient, world: World) -> None:
    created = await create(client, world)
    for text in ("restarted the pods", "error rate back to normal"):
        status, note = await post(client, world, f"/{created['id']}/notes", {"text": text})
        assert status == 201
        assert (note["kind"], note["actor"], note["actor_user_id"]) == (
            "note",
            "alice@example.com",
            world.alice.user_id,
        )
    found = await detail(client, world, created["id"])
    assert [e["text"] for e in found["timeline"] if e["kind"] == "note"] == [
        "restarted the pods",
        "error rate back to normal",
    ]
    response = await client.post(
        f"{INCIDENTS}/{created['id']}/notes", json={"text": "me too"}, headers=world.bob.headers
    )
    assert response.status == 403


async def test_delete_removes_the_incident_and_its_timeline(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = await create(client, world)
    response = await client.delete(f"{INCIDENTS}/{created['id']}", headers=world.bob.headers)
    assert response.status == 403
    response = await client.delete(f"{INCIDENTS}/{created['id']}", headers=world.alice.headers)
    assert response.status == 204
    response = await client.get(f"{INCIDENTS}/{created['id']}", headers=world.alice.headers)
    assert response.status == 404
    async with db.begin():
        left = await db.scalars(
            select(IncidentEvent.id).where(IncidentEvent.incident_id == created["id"])
        )
        assert list(left) == []


async def test_carol_gets_404_for_org_a_incident(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = await create(client, world)
    base = f"{INCIDENTS}/{created['id']}"
    attempts = [
        ("GET", base, None),
        ("POST", f"{base}/acknowledge", {}),
        ("POST", f"{base}/resolve", {}),
        ("POST", f"{base}/notes", {"text": "hi"}),
        ("DELETE", base, None),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, json=body, headers=world.carol.headers)
        assert response.status == 404, (method, path)
        assert (await response.json())["detail"] == "Incident not found"
    found = await detail(client, world, created["id"])
    assert found["status"] == "open" and len(found["timeline"]) == 1
    response = await client.get(INCIDENTS, headers=world.carol.headers)
    assert (await response.json())["total"] == 0


async def test_bulk_reports_per_id_outcome(client: TestClient, world: World) -> None:
    open_one = await create(client, world)
    resolved_one = await create(client, world)
    await post(client, world, f"/{resolved_one['id']}/resolve")
    response = await client.post(INCIDENTS, json=MANUAL, headers=world.carol.headers)
    carols = (await response.json())["id"]
    ids = [open_one["id"], resolved_one["id"], carols, 999_999, open_one["id"]]
    status, outcomes = await post(
        client, world, "/bulk", {"ids": ids, "action": "acknowledge", "note": "bulk"}
    )
    assert status == 200
    assert [(o["id"], o["ok"], o["status"]) for o in outcomes] == [
        (open_one["id"], True, "acknowledged"),
        (resolved_one["id"], False, None),
        (carols, False, None),  # another org's id reads exactly like an unknown one
        (999_999, False, None),
    ]
    assert "only an open one" in outcomes[1]["detail"]
    assert [o["detail"] for o in outcomes[2:]] == ["Incident not found", "Incident not found"]
    status, outcomes = await post(
        client, world, "/bulk", {"ids": [open_one["id"], carols], "action": "resolve"}
    )
    assert [(o["ok"], o["status"]) for o in outcomes] == [(True, "resolved"), (False, None)]
    carols_view = await client.get(f"{INCIDENTS}/{carols}", headers=world.carol.headers)
    assert (await carols_view.json())["status"] == "open"
    found = await detail(client, world, open_one["id"])
    assert [(e["kind"], e["text"]) for e in found["timeline"]][:2] == [
        ("opened", "p95 over 2 s"),
        ("acknowledged", "bulk"),
    ]


async def test_bulk_delete_and_its_limits(client: TestClient, world: World) -> None:
    ids = [(await create(client, world))["id"] for _ in range(3)]
    status, outcomes = await post(client, world, "/bulk", {"ids": ids, "action": "delete"})
    assert status == 200
    assert all(o["ok"] and o["status"] is None for o in outcomes)
    response = await client.get(INCIDENTS, headers=world.alice.headers)
    assert (await response.json())["total"] == 0
    status, error = await post(
        client, world, "/bulk", {"ids": list(range(1, 202)), "action": "delete"}
    )
    assert status == 400 and "'ids'" in error["detail"]
    status, error = await post(client, world, "/bulk", {"ids": [1], "action": "reopen"})
    assert status == 400 and "'action'" in error["detail"]
    response = await client.post(
        f"{INCIDENTS}/bulk", json={"ids": ids, "action": "delete"}, headers=world.bob.headers
    )
    assert response.status == 403


async def test_list_filters_by_status_severity_trigger_and_target(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    async with db.begin():
        await incidents.open_incident(
            Context(db=db),
            trigger=incidents.Trigger(world.org_a, TriggerType.monitor_down, "monitor", 12),
            title="api down",
            severity="critical",
        )
        await incidents.open_incident(
            Context(db=db),
            trigger=incidents.Trigger(world.org_a, TriggerType.agent_offline, "agent", 12),
            title="web-1 offline",
            severity="error",
        )
    manual = await create(client, world)
    await post(client, world, f"/{manual['id']}/acknowledge")

    async def titles(query: str) -> list[str]:
        response = await client.get(f"{INCIDENTS}?{query}", headers=world.bob.headers)
        assert response.status == 200, await response.text()
        return [item["title"] for item in (await response.json())["items"]]

    assert await titles("monitor_id=12") == ["api down"]
    assert await titles("agent_id=12") == ["web-1 offline"]
    assert await titles("resource_id=12") == []
    assert await titles("status=acknowledged") == ["Checkout is slow"]
    assert await titles("severity=critical") == ["api down"]
    assert await titles("trigger_type=agent_offline") == ["web-1 offline"]
    assert await titles("q=OFFLINE") == ["web-1 offline"]
    assert await titles("sort=-severity") == ["api down", "web-1 offline", "Checkout is slow"]
    assert await titles("sort=title&per_page=1&page=2") == ["Checkout is slow"]
    for bad in ("status=closed", "severity=fatal", "monitor_id=0", "sort=owner", "per_page=201"):
        response = await client.get(f"{INCIDENTS}?{bad}", headers=world.bob.headers)
        assert response.status == 400, bad
        assert bad.split("=")[0] in (await response.json())["detail"]


async def test_list_filters_by_time_newest_first(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    now = datetime.now(UTC)
    for days in (1, 3, 5):
        created = await create(client, world, title=f"{days} days ago")
        async with db.begin():
            await db.execute(
                update(Incident)
                .where(Incident.id == created["id"])
                .values(opened_at=now - timedelta(days=days))
            )
    since = (now - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")  # no zone: read as UTC
    response = await client.get(f"{INCIDENTS}?from={since}", headers=world.alice.headers)
    page = await response.json()
    assert [item["title"] for item in page["items"]] == ["1 days ago", "3 days ago"]
    response = await client.get(f"{INCIDENTS}?from={since}&to={until}", headers=world.alice.headers)
    assert [item["title"] for item in (await response.json())["items"]] == ["3 days ago"]


async def test_stats_mttr(client: TestClient, world: World, db: AsyncSession) -> None:
    now = datetime.now(UTC)
    # (severity, status, opened ago, resolved ago); org B's incident must not count
    rows = [
        ("critical", "open", timedelta(hours=1), None),
        ("critical", "acknowledged", timedelta(hours=1), None),
        ("warning", "open", timedelta(hours=1), None),
        ("error", "resolved", timedelta(minutes=30), timedelta(minutes=20)),  # 10 min
        ("error", "resolved", timedelta(days=2), timedelta(days=2) - timedelta(minutes=30)),
        ("error", "resolved", timedelta(days=10), timedelta(days=9)),  # outside the 7 days
    ]
    async with db.begin():
        for severity, status, opened_ago, resolved_ago in rows:
            db.add(
                Incident(
                    org_id=world.org_a,
                    title="x",
                    severity=severity,
                    status=status,
                    trigger_type="manual",
                    opened_at=now - opened_ago,
                    resolved_at=now - resolved_ago if resolved_ago else None,
                )
            )
        db.add(Incident(org_id=world.org_b, title="b", severity="critical", trigger_type="manual"))
    response = await client.get(f"{INCIDENTS}/stats", headers=world.bob.headers)
    assert response.status == 200
    stats = await response.json()
    resolved_today = 1 if (now - timedelta(minutes=20)).date() == now.date() else 0
    assert stats == {
        "open": 2,
        "acknowledged": 1,
        "critical_open": 2,
        "resolved_today": resolved_today,
        "mttr_seconds_7d": (10 * 60 + 30 * 60) // 2,
    }
    response = await client.get(f"{INCIDENTS}/stats", headers=world.carol.headers)
    assert (await response.json())["mttr_seconds_7d"] is None


async def test_every_change_is_audited(client: TestClient, world: World, db: AsyncSession) -> None:
    created = await create(client, world)
    await post(client, world, f"/{created['id']}/notes", {"text": "note"})
    await post(client, world, f"/{created['id']}/acknowledge")
    await post(client, world, f"/{created['id']}/resolve")
    await client.delete(f"{INCIDENTS}/{created['id']}", headers=world.alice.headers)
    assert await audit_actions(db, world.org_a) == [
        "incident.created",
        "incident.note_added",
        "incident.acknowledged",
        "incident.resolved",
        "incident.deleted",
    ]


async def test_changes_are_published_to_the_orgs_live_events(
    client: TestClient, world: World
) -> None:
    bus = client.app[EVENT_BUS]
    org_a = bus.subscribe(world.org_a, after=None)
    org_b = bus.subscribe(world.org_b, after=None)
    created = await create(client, world)
    await post(client, world, f"/{created['id']}/notes", {"text": "note"})
    await post(client, world, f"/{created['id']}/acknowledge")
    status, _ = await post(client, world, f"/{created['id']}/acknowledge")  # 409: nothing sent
    assert status == 409
    await post(client, world, f"/{created['id']}/resolve")
    await client.delete(f"{INCIDENTS}/{created['id']}", headers=world.alice.headers)
    seen = []
    while len(seen) < 5:
        event = await asyncio.wait_for(org_a.next(), timeout=2)
        assert event is not None
        if event.type.startswith("incident."):  # the inbox's notification.created aside
            seen.append((event.type, json.loads(event.data_json)))
    assert [(kind, data["status"]) for kind, data in seen] == [
        ("incident.opened", "open"),
        ("incident.note", "open"),
        ("incident.acknowledged", "acknowledged"),
        ("incident.resolved", "resolved"),
        ("incident.deleted", "resolved"),
    ]
    assert all(
        (data["id"], data["title"], data["severity"])
        == (created["id"], "Checkout is slow", "warning")
        for _, data in seen
    )
    with pytest.raises(TimeoutError):  # carol's organization heard nothing
        await asyncio.wait_for(org_b.next(), timeout=0.2)
    org_a.close()
    org_b.close()
