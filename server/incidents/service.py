"""The incident rules: one unresolved incident per trigger and target, the lifecycle
open -> acknowledged -> resolved (or open -> resolved), and a timeline of who did what.

Engines call `open_for_trigger`, `resolve_for_trigger` and `add_timeline_event` with their
own session and publish `event_data(incident, type)` after they commit; HTTP handlers call the
functions taking a `Call`, which audit and publish through the request.

State changes are compare-and-set updates (`WHERE status IN (...)`), so an acknowledgement
racing an automatic resolution cannot both win; the loser sees a 409.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.http.errors import Conflict, NotFound
from server.http.routing import Call
from server.incidents.models import Incident, IncidentEvent
from server.incidents.queries import incident_of, incident_read
from shared.api.events import IncidentChange, IncidentChanged, IncidentNoteAdded
from shared.api.incidents import (
    BulkAction,
    BulkOutcome,
    IncidentAction,
    IncidentCreate,
    IncidentRead,
    IncidentStatus,
    NoteCreate,
    Severity,
    TimelineEventRead,
    TimelineKind,
    TriggerType,
)

SYSTEM = "system"
OPEN = IncidentStatus.open.value
ACKNOWLEDGED = IncidentStatus.acknowledged.value
RESOLVED = IncidentStatus.resolved.value


def event_data(incident: Incident, event_type: IncidentChange) -> IncidentChanged:
    """The `incident.*` live event of the incident's state."""
    return IncidentChanged(
        event_type=event_type,
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
    )


def human_duration(seconds: float) -> str:
    """`3d 4h`, `1h 5m`, `2m 7s` or `9s`: the two largest units are plenty on a timeline."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value}{unit}" for value, unit in parts[:2])


async def add_timeline_event(
    db: AsyncSession,
    *,
    incident_id: int,
    kind: TimelineKind,
    text: str | None = None,
    actor: str = SYSTEM,
    actor_user_id: int | None = None,
) -> IncidentEvent:
    """Append one line to an incident's timeline (engines: `check`, `notified`, ...)."""
    event = IncidentEvent(
        incident_id=incident_id,
        kind=kind.value,
        text=text[:4000] if text else None,
        actor=actor,
        actor_user_id=actor_user_id,
    )
    db.add(event)
    await db.flush()
    return event


async def _system_audit(db: AsyncSession, incident: Incident, action: str, detail: str) -> None:
    """An audit entry for what the system did on its own (no request, no user)."""
    entry = {
        "org_id": incident.org_id,
        "user_id": None,
        "user_email": SYSTEM,
        "action": action,
        "resource_type": "incident",
        "resource_id": str(incident.id),
        "ip": None,
        "user_agent": None,
        "status": "success",
        "detail": detail[:2000],
    }
    await audit.write(db, [entry])


async def _unresolved_for(
    db: AsyncSession, *, org_id: int, trigger_type: str, target_type: str, target_id: int
) -> Incident | None:
    return await db.scalar(
        select(Incident).where(
            Incident.org_id == org_id,
            Incident.trigger_type == trigger_type,
            Incident.target_type == target_type,
            Incident.target_id == target_id,
            Incident.status != RESOLVED,
        )
    )


async def open_for_trigger(
    db: AsyncSession,
    *,
    org_id: int,
    trigger_type: TriggerType | str,
    target_type: str,
    target_id: int,
    title: str,
    severity: Severity | str,
    description: str | None = None,
) -> tuple[Incident, bool]:
    """The unresolved incident of this trigger and target, and whether it was opened now.

    1. If one is unresolved (open or acknowledged), return it and False.
    2. Else insert a new one inside a SAVEPOINT. The partial unique index refuses a second
       unresolved incident, so if another engine or process opened one since step 1, the
       insert fails, only the savepoint rolls back, and that incident is returned with False.
    3. A new incident gets an `opened` timeline event by the system and an audit entry.
    """
    trigger = TriggerType(trigger_type)
    if trigger is TriggerType.manual:
        raise ValueError("manual incidents are created by a member, not by a trigger")
    key: dict[str, Any] = {
        "org_id": org_id,
        "trigger_type": trigger.value,
        "target_type": target_type,
        "target_id": target_id,
    }
    existing = await _unresolved_for(db, **key)
    if existing is not None:
        return existing, False
    incident = Incident(
        **key, title=title[:200], severity=Severity(severity).value, description=description
    )
    try:
        async with db.begin_nested():
            db.add(incident)
    except IntegrityError:
        existing = await _unresolved_for(db, **key)
        if existing is None:  # pragma: no cover - a different constraint failed
            raise
        return existing, False
    await add_timeline_event(
        db, incident_id=incident.id, kind=TimelineKind.opened, text=description or title
    )
    await _system_audit(
        db, incident, "incident.created", f"opened by {trigger.value} on {target_type} {target_id}"
    )
    return incident, True


async def _set_status(
    db: AsyncSession, incident: Incident, *, to: str, allowed_from: tuple[str, ...], **values: Any
) -> bool:
    """Compare-and-set: move to `to` only if the status is still one of `allowed_from`."""
    result = await db.execute(
        update(Incident)
        .where(Incident.id == incident.id, Incident.status.in_(allowed_from))
        .values(status=to, **values)
        .execution_options(synchronize_session=False)
    )
    await db.refresh(incident)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _with_note(text: str, note: str | None) -> str:
    return f"{text}: {note}" if note else text


async def resolve_for_trigger(
    db: AsyncSession,
    *,
    org_id: int,
    trigger_type: TriggerType | str,
    target_type: str,
    target_id: int,
    note: str | None = None,
) -> Incident | None:
    """Resolve the unresolved incident of this trigger and target automatically (the
    target recovered); None when there is none. The timeline says how long it lasted."""
    incident = await _unresolved_for(
        db,
        org_id=org_id,
        trigger_type=TriggerType(trigger_type).value,
        target_type=target_type,
        target_id=target_id,
    )
    if incident is None:
        return None
    now = datetime.now(UTC)
    resolved = await _set_status(
        db, incident, to=RESOLVED, allowed_from=(OPEN, ACKNOWLEDGED),
        resolved_at=now, resolved_by_id=None, resolved_automatically=True,
    )  # fmt: skip
    if not resolved:  # resolved by someone else a moment ago
        return None
    duration = human_duration((now - incident.opened_at).total_seconds())
    text = _with_note(f"Resolved automatically after {duration}", note)
    await add_timeline_event(db, incident_id=incident.id, kind=TimelineKind.resolved, text=text)
    await _system_audit(db, incident, "incident.resolved", text)
    return incident


# Members acting through the API


async def create_manual(call: Call, *, data: IncidentCreate) -> IncidentRead:
    incident = Incident(
        org_id=call.auth.org_id,
        title=data.title,
        description=data.description,
        severity=data.severity.value,
        trigger_type=TriggerType.manual.value,
        created_by_id=call.auth.user_id,
    )
    call.db.add(incident)
    await call.db.flush()
    await add_timeline_event(
        call.db, incident_id=incident.id, kind=TimelineKind.opened,
        text=data.description or data.title, actor=call.auth.email,
        actor_user_id=call.auth.user_id,
    )  # fmt: skip
    await audit.record(
        call, action="incident.created", resource_type="incident", resource_id=incident.id,
        detail=f"{data.severity.value}: {data.title}",
    )  # fmt: skip
    call.publish_after_commit(event_data(incident, "incident.opened"))
    return incident_read(incident)


async def _acknowledge(call: Call, incident: Incident, note: str | None) -> None:
    acknowledged = await _set_status(
        call.db, incident, to=ACKNOWLEDGED, allowed_from=(OPEN,),
        acknowledged_at=datetime.now(UTC), acknowledged_by_id=call.auth.user_id,
    )  # fmt: skip
    if not acknowledged:
        raise Conflict(
            f"Incident {incident.id} is {incident.status}; only an open one can be acknowledged"
        )
    await _timeline_by_caller(call, incident, TimelineKind.acknowledged, note)
    await audit.record(
        call, action="incident.acknowledged", resource_type="incident",
        resource_id=incident.id, detail=note,
    )  # fmt: skip
    call.publish_after_commit(event_data(incident, "incident.acknowledged"))


async def _resolve(call: Call, incident: Incident, note: str | None) -> None:
    now = datetime.now(UTC)
    resolved = await _set_status(
        call.db, incident, to=RESOLVED, allowed_from=(OPEN, ACKNOWLEDGED),
        resolved_at=now, resolved_by_id=call.auth.user_id, resolved_automatically=False,
    )  # fmt: skip
    if not resolved:
        raise Conflict(f"Incident {incident.id} is already resolved")
    duration = human_duration((now - incident.opened_at).total_seconds())
    text = _with_note(f"Resolved by {call.auth.email} after {duration}", note)
    await _timeline_by_caller(call, incident, TimelineKind.resolved, text)
    await audit.record(
        call, action="incident.resolved", resource_type="incident", resource_id=incident.id,
        detail=text,
    )  # fmt: skip
    call.publish_after_commit(event_data(incident, "incident.resolved"))


async def _delete(call: Call, incident: Incident) -> None:
    deleted = event_data(incident, "incident.deleted")
    await call.db.execute(delete(Incident).where(Incident.id == incident.id))
    call.db.expunge(incident)
    await audit.record(
        call, action="incident.deleted", resource_type="incident", resource_id=deleted.id,
        detail=f"{deleted.severity}, {deleted.status}: {deleted.title}",
    )  # fmt: skip
    call.publish_after_commit(deleted)


async def _timeline_by_caller(
    call: Call, incident: Incident, kind: TimelineKind, text: str | None
) -> IncidentEvent:
    return await add_timeline_event(
        call.db, incident_id=incident.id, kind=kind, text=text,
        actor=call.auth.email, actor_user_id=call.auth.user_id,
    )  # fmt: skip


async def _mine(call: Call, incident_id: int) -> Incident:
    return await incident_of(call.db, org_id=call.auth.org_id, incident_id=incident_id)


async def acknowledge(call: Call, *, incident_id: int, data: IncidentAction) -> IncidentRead:
    """Only an open incident can be acknowledged (409 otherwise)."""
    incident = await _mine(call, incident_id)
    await _acknowledge(call, incident, data.note)
    return incident_read(incident)


async def resolve(call: Call, *, incident_id: int, data: IncidentAction) -> IncidentRead:
    """An open or acknowledged incident can be resolved (409 when already resolved)."""
    incident = await _mine(call, incident_id)
    await _resolve(call, incident, data.note)
    return incident_read(incident)


async def add_note(call: Call, *, incident_id: int, data: NoteCreate) -> TimelineEventRead:
    incident = await _mine(call, incident_id)
    note = await _timeline_by_caller(call, incident, TimelineKind.note, data.text)
    await audit.record(
        call, action="incident.note_added", resource_type="incident", resource_id=incident.id,
        detail=data.text,
    )  # fmt: skip
    call.publish_after_commit(
        IncidentNoteAdded(
            id=incident.id,
            title=incident.title,
            severity=incident.severity,
            status=incident.status,
            note=data.text,
        )
    )
    return TimelineEventRead.model_validate(note)


async def delete_incident(call: Call, *, incident_id: int) -> None:
    await _delete(call, await _mine(call, incident_id))


async def bulk(call: Call, *, data: BulkAction) -> list[BulkOutcome]:
    """Apply one action to many incidents; each id gets its own outcome, in the order
    given (a repeated id once). Another organization's id reads "not found", as a
    single request would, so the outcome tells nothing about it."""
    ids = list(dict.fromkeys(data.ids))
    rows = await call.db.scalars(
        select(Incident).where(Incident.org_id == call.auth.org_id, Incident.id.in_(ids))
    )
    found = {incident.id: incident for incident in rows}
    outcomes: list[BulkOutcome] = []
    for incident_id in ids:
        incident = found.get(incident_id)
        if incident is None:
            outcomes.append(BulkOutcome(id=incident_id, ok=False, detail="Incident not found"))
            continue
        try:
            if data.action == "acknowledge":
                await _acknowledge(call, incident, data.note)
            elif data.action == "resolve":
                await _resolve(call, incident, data.note)
            else:
                await _delete(call, incident)
        except (Conflict, NotFound) as exc:
            outcomes.append(BulkOutcome(id=incident_id, ok=False, detail=exc.detail))
            continue
        status = None if data.action == "delete" else IncidentStatus(incident.status)
        outcomes.append(BulkOutcome(id=incident_id, ok=True, status=status))
    return outcomes
