"""HTTP handlers for /resources: parse -> call service -> serialize."""

from __future__ import annotations

from server.http.routing import Answer, Call
from server.resources import queries
from server.resources import service as resources
from shared.api.common import Page
from shared.api.resources import (
    BulkResourceOutcome,
    ResourceActionName,
    ResourceActionRead,
    ResourceDetail,
    ResourceRead,
    ResourceSummary,
    ResourceTypeCount,
)


async def list_resources(call: Call) -> Page[ResourceRead]:
    """GET /resources"""
    return await queries.list_resources(call.db, org_id=call.auth.org_id, query=call.query)


async def summary(call: Call) -> ResourceSummary:
    """GET /resources/summary"""
    return await queries.summary(call.db, org_id=call.auth.org_id)


async def types(call: Call) -> list[ResourceTypeCount]:
    """GET /resources/types"""
    return await queries.types(call.db, org_id=call.auth.org_id)


async def bulk_action(call: Call) -> list[BulkResourceOutcome] | Answer:
    """POST /resources/bulk-action: 202 when something was queued, else 200 (all final)."""
    outcomes = await resources.bulk(call.ctx, data=call.body)
    return outcomes if any(outcome.ok for outcome in outcomes) else Answer(outcomes, 200)


async def get_resource(call: Call) -> ResourceDetail:
    """GET /resources/{id}"""
    return await queries.get_detail(call.db, org_id=call.auth.org_id, resource_id=call.path["id"])


async def list_actions(call: Call) -> Page[ResourceActionRead]:
    """GET /resources/{id}/actions"""
    return await queries.action_history(
        call.db, org_id=call.auth.org_id, resource_id=call.path["id"], query=call.query
    )


async def start(call: Call) -> ResourceActionRead:
    """POST /resources/{id}/start"""
    return await resources.request_action(
        call.ctx, resource_id=call.path["id"], name=ResourceActionName.start
    )


async def stop(call: Call) -> ResourceActionRead:
    """POST /resources/{id}/stop"""
    return await resources.request_action(
        call.ctx, resource_id=call.path["id"], name=ResourceActionName.stop
    )


async def reboot(call: Call) -> ResourceActionRead:
    """POST /resources/{id}/reboot"""
    return await resources.request_action(
        call.ctx, resource_id=call.path["id"], name=ResourceActionName.reboot
    )
