"""Reading incidents of one organization: the filtered list, one with its timeline, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.alert_rules.models import AlertState
from server.db import paging
from server.db.text_match import containing
from server.http.errors import NotFound
from server.incidents.models import Incident, IncidentEvent
from shared.api.common import Page
from shared.api.incidents import (
    IncidentDetail,
    IncidentQuery,
    IncidentRead,
    IncidentStats,
    IncidentStatus,
    Severity,
    TimelineEventRead,
)

# Which target type each list filter means (`?monitor_id=12` is target monitor 12).
_TARGET_FILTERS = {"monitor_id": "monitor", "resource_id": "resource", "agent_id": "agent"}

_SEVERITY_RANK = case(
    {severity.value: rank for rank, severity in enumerate(Severity)}, value=Incident.severity
)
_STATUS_RANK = case(
    {status.value: rank for rank, status in enumerate(IncidentStatus)}, value=Incident.status
)
_SORT_COLUMNS: dict[str, ColumnElement[object]] = {
    "opened_at": Incident.opened_at,  # type: ignore[dict-item]
    "resolved_at": Incident.resolved_at,  # type: ignore[dict-item]
    "severity": _SEVERITY_RANK,
    "status": _STATUS_RANK,
    "title": func.lower(Incident.title),
    "id": Incident.id,  # type: ignore[dict-item]
}


def _utc(value: datetime) -> datetime:
    """A time given without a zone is read as UTC (the contract's only zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def incident_read(incident: Incident) -> IncidentRead:
    return IncidentRead.model_validate(incident)


async def incident_of(db: AsyncSession, *, org_id: int, incident_id: int) -> Incident:
    """The incident `incident_id` of `org_id`; another organization's is a 404 too."""
    incident = await db.scalar(
        select(Incident).where(Incident.id == incident_id, Incident.org_id == org_id)
    )
    if incident is None:
        raise NotFound("Incident not found")
    return incident


def _about(target_type: str, target_id: int) -> ColumnElement[bool]:
    """Incidents of a target; an agent's include those of its metric rules, whose target
    is the rule's state for one of the agent's mounts or containers (server/alert_rules/live.py)."""
    about = (Incident.target_type == target_type) & (Incident.target_id == target_id)
    if target_type != "agent":
        return about
    states = select(AlertState.id).where(AlertState.agent_id == target_id)
    return about | ((Incident.target_type == "alert_state") & Incident.target_id.in_(states))


def _conditions(org_id: int, query: IncidentQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Incident.org_id == org_id]
    if query.status is not None:
        where.append(Incident.status == query.status.value)
    if query.severity is not None:
        where.append(Incident.severity == query.severity.value)
    if query.trigger_type is not None:
        where.append(Incident.trigger_type == query.trigger_type.value)
    for name, target_type in _TARGET_FILTERS.items():
        target_id = getattr(query, name)
        if target_id is not None:
            where.append(_about(target_type, target_id))
    if query.from_ is not None:
        where.append(Incident.opened_at >= _utc(query.from_))
    if query.to is not None:
        where.append(Incident.opened_at <= _utc(query.to))
    if query.q:
        where.append(func.lower(Incident.title).like(containing(query.q), escape="\\"))
    return where


async def list_incidents(
    db: AsyncSession, *, org_id: int, query: IncidentQuery
) -> Page[IncidentRead]:
    column = _SORT_COLUMNS[query.sort.lstrip("-")]
    order = column.desc() if query.sort.startswith("-") else column.asc()
    tiebreak = Incident.id.desc() if query.sort.startswith("-") else Incident.id.asc()
    statement = select(Incident).where(*_conditions(org_id, query)).order_by(order, tiebreak)
    return await paging.page_of(db, statement, query, Page[IncidentRead], incident_read)


async def timeline(db: AsyncSession, *, incident_id: int) -> list[TimelineEventRead]:
    rows = await db.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.id)
    )
    return [TimelineEventRead.model_validate(event) for event in rows]


async def get_detail(db: AsyncSession, *, org_id: int, incident_id: int) -> IncidentDetail:
    incident = await incident_of(db, org_id=org_id, incident_id=incident_id)
    return IncidentDetail(
        **incident_read(incident).model_dump(),
        timeline=await timeline(db, incident_id=incident.id),
    )


async def stats(db: AsyncSession, *, org_id: int, now: datetime | None = None) -> IncidentStats:
    now = now or datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    unresolved = Incident.status != IncidentStatus.resolved.value
    counts = (
        await db.execute(
            select(
                func.count().filter(Incident.status == IncidentStatus.open.value),
                func.count().filter(Incident.status == IncidentStatus.acknowledged.value),
                func.count().filter(unresolved, Incident.severity == Severity.critical.value),
                func.count().filter(Incident.resolved_at >= today),
            ).where(Incident.org_id == org_id)
        )
    ).one()
    # Durations are averaged here rather than in SQL: date arithmetic differs between
    # SQLite and PostgreSQL, and a week of resolved incidents is a small read.
    resolved = await db.execute(
        select(Incident.opened_at, Incident.resolved_at).where(
            Incident.org_id == org_id, Incident.resolved_at >= now - timedelta(days=7)
        )
    )
    durations = [
        (resolved_at - opened_at).total_seconds()
        for opened_at, resolved_at in resolved
        if resolved_at is not None
    ]
    return IncidentStats(
        open=counts[0],
        acknowledged=counts[1],
        critical_open=counts[2],
        resolved_today=counts[3],
        mttr_seconds_7d=round(sum(durations) / len(durations)) if durations else None,
    )
