"""The incident rules: one unresolved incident per trigger and target, the lifecycle
open -> acknowledged -> resolved (or open -> resolved), and a timeline of who did what.

Members and engines call the same functions: `open_incident` (by a member, or for a
`Trigger` such as a monitor going down) and `resolve_trigger`; who acts comes from the
`Context`, which also carries the audit entries and the live events out after commit.

State changes are compare-and-set updates (`WHERE status IN (...)`), so an acknowledgement
racing an automatic resolution cannot both win; the loser sees a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.alert_rules import service as alert_rules
from server.audit import service as audit
from server.http.errors import Conflict, NotFound
from server.incidents.models import Incident, IncidentEvent
from server.incidents.queries import incident_of, incident_read
from server.notifications import outbox
from server.service_context import Context
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


def _actor(ctx: Context) -> tuple[str, int | None]:
    """Who acts, as the timeline names them: a member, or the system."""
    principal = ctx.principal
    return (principal.email, principal.user_id) if principal else (SYSTEM, None)


@dataclass(frozen=True)
class Trigger:
    """What opens and resolves incidents on its own; it has one unresolved incident at most."""

    org_id: int
    type: TriggerType
    target_type: str
    target_id: int


async def _unresolved_for(db: AsyncSession, trigger: Trigger) -> Incident | None:
    return await db.scalar(
        select(Incident).where(
            Incident.org_id == trigger.org_id,
            Incident.trigger_type == trigger.type.value,
            Incident.target_type == trigger.target_type,
            Incident.target_id == trigger.target_id,
            Incident.status != RESOLVED,
        )
    )


async def open_incident(
    ctx: Context,
    *,
    title: str,
    severity: Severity | str,
    description: str | None = None,
    trigger: Trigger | None = None,
    decision: alert_rules.Decision | None = None,
) -> tuple[Incident | None, bool]:
    """Open an incident: by the calling member (no trigger), or by a trigger. The incident
    and whether it was opened now.

    1. For a trigger that has an unresolved incident (open or acknowledged), return it
       and False. Else its alert rules (server/alert_rules/service.py) set the severity,
       or hold the incident back in a cooldown: None and False. A metric rule decided
       already (server/alert_rules/live.py) and gives its `decision`.
    2. Else insert a new one inside a SAVEPOINT. The partial unique index refuses a second
       unresolved incident of a trigger, so if another engine or process opened one since
       step 1, the insert fails, only the savepoint rolls back, and that one is returned.
    3. A new incident gets an `opened` timeline event by its actor, an audit entry and,
       after commit, an `incident.opened` live event.
    """
    if trigger is None:
        org_id, trigger_type = ctx.auth.org_id, TriggerType.manual
        key: dict[str, Any] = {"created_by_id": ctx.auth.user_id}
    elif trigger.type is TriggerType.manual:
        raise ValueError("manual incidents are created by a member, not by a trigger")
    else:
        ctx = ctx.as_system()
        org_id, trigger_type = trigger.org_id, trigger.type
        key = {"target_type": trigger.target_type, "target_id": trigger.target_id}
        existing = await _unresolved_for(ctx.db, trigger)
        if existing is not None:
            return existing, False
        decision = decision or await alert_rules.decide(
            ctx.db, org_id=org_id, trigger_type=trigger_type, target_type=trigger.target_type,
            target_id=trigger.target_id, default_severity=Severity(severity).value,
            now=datetime.now(UTC),
        )  # fmt: skip
        if decision.held_back:
            return None, False
        severity, key["alert_rule_id"] = decision.severity, decision.rule_id
    incident = Incident(
        org_id=org_id, trigger_type=trigger_type.value, title=title[:200],
        severity=Severity(severity).value, description=description, **key,
    )  # fmt: skip
    try:
        async with ctx.db.begin_nested():
            ctx.db.add(incident)
    except IntegrityError:
        existing = await _unresolved_for(ctx.db, trigger) if trigger else None
        if existing is None:  # pragma: no cover - a different constraint failed
            raise
        return existing, False
    await _timeline(ctx, incident, TimelineKind.opened, description or title)
    by = f"{trigger.type.value} on {trigger.target_type} {trigger.target_id}" if trigger else None
    await audit.record(
        ctx, action="incident.created", resource_type="incident", resource_id=incident.id,
        org_id=org_id, detail=f"opened by {by}" if by else f"{incident.severity}: {title}",
    )  # fmt: skip
    ctx.publish_after_commit(event_data(incident, "incident.opened"), org_id=org_id)
    await outbox.notify(ctx, outbox.incident_occurrence(incident, "incident.opened", description))
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


async def resolve_trigger(
    ctx: Context, trigger: Trigger, *, note: str | None = None
) -> Incident | None:
    """Resolve the trigger's unresolved incident (its target recovered); None when it has
    none, or someone resolved it a moment ago."""
    incident = await _unresolved_for(ctx.db, trigger)
    if incident is None or not await _resolve(ctx.as_system(), incident, note):
        return None
    return incident


async def create_manual(ctx: Context, *, data: IncidentCreate) -> IncidentRead:
    incident, _ = await open_incident(
        ctx, title=data.title, severity=data.severity, description=data.description
    )
    assert incident is not None  # only a trigger's incident is ever held back
    return incident_read(incident)


async def _acknowledge(ctx: Context, incident: Incident, note: str | None) -> None:
    acknowledged = await _set_status(
        ctx.db, incident, to=ACKNOWLEDGED, allowed_from=(OPEN,),
        acknowledged_at=datetime.now(UTC), acknowledged_by_id=ctx.auth.user_id,
    )  # fmt: skip
    if not acknowledged:
        raise Conflict(
            f"Incident {incident.id} is {incident.status}; only an open one can be acknowledged"
        )
    await _timeline(ctx, incident, TimelineKind.acknowledged, note)
    await audit.record(
        ctx, action="incident.acknowledged", resource_type="incident",
        resource_id=incident.id, detail=note,
    )  # fmt: skip
    ctx.publish_after_commit(event_data(incident, "incident.acknowledged"))
    await outbox.cancel_escalations(ctx.db, incident.id)
    text = _with_note(f"Acknowledged by {_actor(ctx)[0]}", note)
    await outbox.notify(ctx, outbox.incident_occurrence(incident, "incident.acknowledged", text))


async def _resolve(ctx: Context, incident: Incident, note: str | None) -> bool:
    """Resolve an open or acknowledged incident; False when it is resolved already."""
    now = datetime.now(UTC)
    email, user_id = _actor(ctx)
    resolved = await _set_status(
        ctx.db, incident, to=RESOLVED, allowed_from=(OPEN, ACKNOWLEDGED),
        resolved_at=now, resolved_by_id=user_id, resolved_automatically=user_id is None,
    )  # fmt: skip
    if not resolved:
        return False
    duration = human_duration((now - incident.opened_at).total_seconds())
    by = f"by {email}" if user_id is not None else "automatically"
    text = _with_note(f"Resolved {by} after {duration}", note)
    await _timeline(ctx, incident, TimelineKind.resolved, text)
    await audit.record(
        ctx, action="incident.resolved", resource_type="incident", resource_id=incident.id,
        org_id=incident.org_id, detail=text,
    )  # fmt: skip
    ctx.publish_after_commit(event_data(incident, "incident.resolved"), org_id=incident.org_id)
    await outbox.cancel_escalations(ctx.db, incident.id)
    await outbox.notify(ctx, outbox.incident_occurrence(incident, "incident.resolved", text))
    return True


async def _resolve_by_member(ctx: Context, incident: Incident, note: str | None) -> None:
    if not await _resolve(ctx, incident, note):
        raise Conflict(f"Incident {incident.id} is already resolved")


async def _delete(ctx: Context, incident: Incident) -> None:
    deleted = event_data(incident, "incident.deleted")
    await outbox.cancel_escalations(ctx.db, incident.id)
    await ctx.db.execute(delete(Incident).where(Incident.id == incident.id))
    ctx.db.expunge(incident)
    await audit.record(
        ctx, action="incident.deleted", resource_type="incident", resource_id=deleted.id,
        detail=f"{deleted.severity}, {deleted.status}: {deleted.title}",
    )  # fmt: skip
    ctx.publish_after_commit(deleted)


async def _timeline(
    ctx: Context, incident: Incident, kind: TimelineKind, text: str | None
) -> IncidentEvent:
    email, user_id = _actor(ctx)
    return await add_timeline_event(
        ctx.db, incident_id=incident.id, kind=kind, text=text, actor=email, actor_user_id=user_id
    )


async def _mine(ctx: Context, incident_id: int) -> Incident:
    return await incident_of(ctx.db, org_id=ctx.auth.org_id, incident_id=incident_id)


async def acknowledge(ctx: Context, *, incident_id: int, data: IncidentAction) -> IncidentRead:
    """Only an open incident can be acknowledged (409 otherwise)."""
    incident = await _mine(ctx, incident_id)
    await _acknowledge(ctx, incident, data.note)
    return incident_read(incident)


async def resolve(ctx: Context, *, incident_id: int, data: IncidentAction) -> IncidentRead:
    """An open or acknowledged incident can be resolved (409 when already resolved)."""
    incident = await _mine(ctx, incident_id)
    await _resolve_by_member(ctx, incident, data.note)
    return incident_read(incident)


async def add_note(ctx: Context, *, incident_id: int, data: NoteCreate) -> TimelineEventRead:
    incident = await _mine(ctx, incident_id)
    note = await _timeline(ctx, incident, TimelineKind.note, data.text)
    await audit.record(
        ctx, action="incident.note_added", resource_type="incident", resource_id=incident.id,
        detail=data.text,
    )  # fmt: skip
    ctx.publish_after_commit(
        IncidentNoteAdded(
            id=incident.id,
            title=incident.title,
            severity=incident.severity,
            status=incident.status,
            note=data.text,
        )
    )
    return TimelineEventRead.model_validate(note)


async def delete_incident(ctx: Context, *, incident_id: int) -> None:
    await _delete(ctx, await _mine(ctx, incident_id))


async def bulk(ctx: Context, *, data: BulkAction) -> list[BulkOutcome]:
    """Apply one action to many incidents; each id gets its own outcome, in the order
    given (a repeated id once). Another organization's id reads "not found", as a
    single request would, so the outcome tells nothing about it."""
    ids = list(dict.fromkeys(data.ids))
    rows = await ctx.db.scalars(
        select(Incident).where(Incident.org_id == ctx.auth.org_id, Incident.id.in_(ids))
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
                await _acknowledge(ctx, incident, data.note)
            elif data.action == "resolve":
                await _resolve_by_member(ctx, incident, data.note)
            else:
                await _delete(ctx, incident)
        except (Conflict, NotFound) as exc:
            outcomes.append(BulkOutcome(id=incident_id, ok=False, detail=exc.detail))
            continue
        status = None if data.action == "delete" else IncidentStatus(incident.status)
        outcomes.append(BulkOutcome(id=incident_id, ok=True, status=status))
    return outcomes
