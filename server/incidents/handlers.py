"""HTTP handlers for /incidents: parse -> call service -> serialize."""

from __future__ import annotations

from server.http.routing import Call
from server.incidents import queries
from server.incidents import service as incidents
from shared.api.common import Page
from shared.api.incidents import (
    BulkOutcome,
    IncidentDetail,
    IncidentRead,
    IncidentStats,
    TimelineEventRead,
)


async def list_incidents(call: Call) -> Page[IncidentRead]:
    """GET /incidents"""
    return await queries.list_incidents(call.db, org_id=call.auth.org_id, query=call.query)


async def stats(call: Call) -> IncidentStats:
    """GET /incidents/stats"""
    return await queries.stats(call.db, org_id=call.auth.org_id)


async def create_incident(call: Call) -> IncidentRead:
    """POST /incidents"""
    return await incidents.create_manual(call.ctx, data=call.body)


async def bulk(call: Call) -> list[BulkOutcome]:
    """POST /incidents/bulk"""
    return await incidents.bulk(call.ctx, data=call.body)


async def get_incident(call: Call) -> IncidentDetail:
    """GET /incidents/{id}"""
    return await queries.get_detail(call.db, org_id=call.auth.org_id, incident_id=call.path["id"])


async def acknowledge(call: Call) -> IncidentRead:
    """POST /incidents/{id}/acknowledge"""
    return await incidents.acknowledge(call.ctx, incident_id=call.path["id"], data=call.body)


async def resolve(call: Call) -> IncidentRead:
    """POST /incidents/{id}/resolve"""
    return await incidents.resolve(call.ctx, incident_id=call.path["id"], data=call.body)


async def add_note(call: Call) -> TimelineEventRead:
    """POST /incidents/{id}/notes"""
    return await incidents.add_note(call.ctx, incident_id=call.path["id"], data=call.body)


async def delete_incident(call: Call) -> None:
    """DELETE /incidents/{id}"""
    await incidents.delete_incident(call.ctx, incident_id=call.path["id"])
