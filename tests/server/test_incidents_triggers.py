"""Incidents opened and resolved by triggers (engines call the service, no HTTP).

At most one unresolved incident per (org, trigger type, target) is held by a partial unique
index, so neither a restart nor two engines racing can open a duplicate.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.context import SESSIONS
from server.incidents import service as incidents
from server.incidents.models import Incident, IncidentEvent
from server.service_context import Context
from shared.api.incidents import TriggerType
from tests.conftest import World

MONITOR_12: dict[str, Any] = {
    "trigger_type": "monitor_down",
    "target_type": "monitor",
    "target_id": 12,
}


def trigger(
    org_id: int, trigger_type: str = "monitor_down", target_id: int = 12
) -> incidents.Trigger:
    return incidents.Trigger(org_id, TriggerType(trigger_type), "monitor", target_id)


async def open_down(
    db: AsyncSession,
    org_id: int,
    trigger_type: str = "monitor_down",
    target_id: int = 12,
    **changes: Any,
) -> tuple[Incident, bool]:
    """Open as an engine does: with the system's context."""
    fields: dict[str, Any] = {"title": "api.example.com is down", "severity": "critical", **changes}
    return await incidents.open_incident(
        Context(db=db), trigger=trigger(org_id, trigger_type, target_id), **fields
    )


async def resolve_down(db: AsyncSession, org_id: int, note: str | None = None) -> Incident | None:
    return await incidents.resolve_trigger(Context(db=db), trigger(org_id), note=note)


async def unresolved_count(db: AsyncSession, org_id: int) -> int:
    async with db.begin():
        count = await db.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.org_id == org_id, Incident.status != "resolved")
        )
    return count or 0


async def test_a_trigger_opens_once_then_returns_the_same_incident(
    db: AsyncSession, world: World
) -> None:
    async with db.begin():
        first, opened = await open_down(db, world.org_a)
        again, opened_again = await open_down(db, world.org_a, title="still down")
    assert (opened, opened_again) == (True, False)
    assert again.id == first.id
    assert (first.status, first.trigger_type, first.target_id) == ("open", "monitor_down", 12)
    assert first.created_by_id is None
    async with db.begin():
        events = list(
            await db.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == first.id))
        )
        audits = list(await db.scalars(select(AuditLog).where(AuditLog.action.like("incident.%"))))
    assert [(e.kind, e.actor) for e in events] == [("opened", "system")]
    assert [(a.action, a.org_id, a.user_email) for a in audits] == [
        ("incident.created", world.org_a, "system")
    ]


async def test_only_one_open_incident_per_trigger_and_target_when_engines_race(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    """Several sessions (as engines in several processes would) open the same trigger at once:
    all look, find nothing and insert; the index lets one through, the others get its id.

    (No earlier write in these transactions: on SQLite it would take the write lock and
    serialize the engines before they look, and the race would not happen.)"""
    sessions = client.app[SESSIONS]
    all_connected = asyncio.Barrier(4)

    async def engine() -> tuple[int, bool]:
        async with sessions() as session, session.begin():
            await session.connection()  # each has its own connection before any looks
            await all_connected.wait()
            incident, opened = await open_down(session, world.org_a)
            await asyncio.sleep(0.05)  # hold the transaction so the others overlap it
            return incident.id, opened

    results = await asyncio.gather(*(engine() for _ in range(4)))
    assert len({incident_id for incident_id, _ in results}) == 1
    assert sum(opened for _, opened in results) == 1
    assert await unresolved_count(db, world.org_a) == 1


async def test_the_database_refuses_a_second_unresolved_incident(
    db: AsyncSession, world: World
) -> None:
    row = {
        **MONITOR_12,
        "org_id": world.org_a,
        "title": "down",
        "severity": "critical",
        "status": "open",
        "opened_at": datetime.now(UTC),
        "resolved_automatically": False,
    }
    async with db.begin():
        await db.execute(insert(Incident).values(row))
    with pytest.raises(IntegrityError):
        async with db.begin():
            await db.execute(insert(Incident).values({**row, "status": "acknowledged"}))
    async with db.begin():  # a failed insert in a savepoint keeps the transaction's other work
        await db.execute(
            insert(AuditLog).values(org_id=world.org_a, action="engine.batch", status="success")
        )
        with pytest.raises(IntegrityError):
            async with db.begin_nested():
                await db.execute(insert(Incident).values(row))
    async with db.begin():
        assert await db.scalar(select(AuditLog.id).where(AuditLog.action == "engine.batch"))
    async with db.begin():  # resolved ones do not count: history may hold many
        await db.execute(insert(Incident).values({**row, "status": "resolved"}))
        await db.execute(insert(Incident).values({**row, "status": "resolved"}))
    assert await unresolved_count(db, world.org_a) == 1


async def test_the_database_refuses_a_trigger_incident_without_a_target(
    db: AsyncSession, world: World
) -> None:
    row = {
        "org_id": world.org_a,
        "title": "down",
        "severity": "critical",
        "status": "open",
        "trigger_type": "monitor_down",
        "opened_at": datetime.now(UTC),
        "resolved_automatically": False,
    }
    with pytest.raises(IntegrityError):
        async with db.begin():
            await db.execute(insert(Incident).values(row))
    async with db.begin():  # manual incidents have no target, and several may be open
        await db.execute(insert(Incident).values({**row, "trigger_type": "manual"}))
        await db.execute(insert(Incident).values({**row, "trigger_type": "manual"}))


async def test_an_acknowledged_incident_still_blocks_a_duplicate(
    db: AsyncSession, world: World
) -> None:
    async with db.begin():
        first, _ = await open_down(db, world.org_a)
        await db.execute(
            update(Incident).where(Incident.id == first.id).values(status="acknowledged")
        )
        again, opened = await open_down(db, world.org_a)
    assert (again.id, opened) == (first.id, False)


async def test_other_targets_triggers_and_orgs_get_their_own_incidents(
    db: AsyncSession, world: World
) -> None:
    async with db.begin():
        base, _ = await open_down(db, world.org_a)
        others = [
            await open_down(db, world.org_a, target_id=13),
            await open_down(db, world.org_a, trigger_type="monitor_degraded"),
            await open_down(db, world.org_b),
        ]
    assert all(opened for _, opened in others)
    assert len({base.id, *(incident.id for incident, _ in others)}) == 4


async def test_a_manual_trigger_is_refused_for_engines(db: AsyncSession, world: World) -> None:
    with pytest.raises(ValueError, match="manual"):
        async with db.begin():
            await open_down(db, world.org_a, trigger_type="manual")


async def test_auto_resolution_records_duration_in_timeline(db: AsyncSession, world: World) -> None:
    async with db.begin():
        incident, _ = await open_down(db, world.org_a)
        opened_at = datetime.now(UTC) - timedelta(minutes=12, seconds=5)
        await db.execute(
            update(Incident).where(Incident.id == incident.id).values(opened_at=opened_at)
        )
    async with db.begin():
        resolved = await resolve_down(db, world.org_a, note="2 consecutive checks up")
    assert resolved is not None and resolved.id == incident.id
    assert (resolved.status, resolved.resolved_automatically) == ("resolved", True)
    assert resolved.resolved_by_id is None
    assert resolved.duration_seconds is not None and 725 <= resolved.duration_seconds <= 730
    async with db.begin():
        events = list(
            await db.scalars(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident.id)
                .order_by(IncidentEvent.id)
            )
        )
    last = events[-1]
    assert (last.kind, last.actor) == ("resolved", "system")
    assert last.text == "Resolved automatically after 12m 5s: 2 consecutive checks up"


async def test_a_recovery_with_nothing_open_resolves_nothing(
    db: AsyncSession, world: World
) -> None:
    async with db.begin():
        assert await resolve_down(db, world.org_a) is None
        await open_down(db, world.org_a)
        # carol's organization has no incident on its own monitor 12
        assert await resolve_down(db, world.org_b) is None


async def test_after_resolution_the_same_trigger_opens_a_new_incident(
    db: AsyncSession, world: World
) -> None:
    async with db.begin():
        first, _ = await open_down(db, world.org_a)
        await resolve_down(db, world.org_a)
        second, opened = await open_down(db, world.org_a)
    assert opened and second.id != first.id


async def test_engines_add_check_and_notified_events_to_the_timeline(
    db: AsyncSession, world: World
) -> None:
    async with db.begin():
        incident, _ = await open_down(db, world.org_a)
        await incidents.add_timeline_event(
            db,
            incident_id=incident.id,
            kind=incidents.TimelineKind.check,
            text="HTTP 503 in 120 ms",
        )
        await incidents.add_timeline_event(
            db, incident_id=incident.id, kind=incidents.TimelineKind.notified, text="Slack #ops"
        )
    assert incidents.event_data(incident, "incident.opened").wire() == {
        "id": incident.id,
        "title": "api.example.com is down",
        "severity": "critical",
        "status": "open",
    }
    async with db.begin():
        kinds = list(
            await db.scalars(
                select(IncidentEvent.kind)
                .where(IncidentEvent.incident_id == incident.id)
                .order_by(IncidentEvent.id)
            )
        )
    assert kinds == ["opened", "check", "notified"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (9, "9s"), (127, "2m 7s"), (3900, "1h 5m"), (3600, "1h 0m"), (273600, "3d 4h")],
)
def test_durations_read_in_the_two_largest_units(seconds: int, text: str) -> None:
    assert incidents.human_duration(seconds) == text
