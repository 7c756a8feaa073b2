"""Members asking for resource actions: refused at once (409) or queued for the engine (202).

The request only records the action (pending) with an audit entry; after it commits, the
resource action engine is woken to carry it out (server/resources/actions.py), so the
answer does not wait on AWS.
"""

from __future__ import annotations

from sqlalchemy import select

from server.audit import service as audit
from server.http.errors import Conflict
from server.resources import actions, queries
from server.resources.models import Resource, ResourceAction
from server.service_context import Context, Wake
from shared.api.resources import (
    BulkResourceAction,
    BulkResourceOutcome,
    ResourceActionName,
    ResourceActionRead,
)


async def _request(ctx: Context, resource: Resource, name: ResourceActionName) -> ResourceAction:
    """Queue `name` on `resource`, or raise Conflict (audited as failed) saying why not."""
    reason = actions.refusal(resource, name)
    if reason is None and await queries.busy(ctx.db, resource_id=resource.id):
        reason = f"{resource.name} has an action in progress; wait until it finishes"
    if reason is not None:
        audit.record_failure(
            ctx, action=f"resource.{name.value}", resource_type="resource",
            resource_id=resource.id, detail=reason,
        )  # fmt: skip
        raise Conflict(reason)
    action = ResourceAction(
        org_id=resource.org_id,
        resource_id=resource.id,
        action=name.value,
        status=actions.PENDING,
        actor=ctx.auth.email,
        actor_user_id=ctx.auth.user_id,
        from_state=resource.state,
    )
    ctx.db.add(action)
    await ctx.db.flush()
    await audit.record(
        ctx, action=f"resource.{name.value}", resource_type="resource",
        resource_id=resource.id,
        detail=f"action {action.id} requested on {resource.name} ({resource.provider_id}), "
        f"{resource.state}",
    )  # fmt: skip
    return action


async def request_action(
    ctx: Context, *, resource_id: int, name: ResourceActionName
) -> ResourceActionRead:
    resource = await queries.resource_of(ctx.db, org_id=ctx.auth.org_id, resource_id=resource_id)
    action = await _request(ctx, resource, name)
    ctx.wake(Wake.resource_actions)
    return ResourceActionRead.model_validate(action)


async def bulk(ctx: Context, *, data: BulkResourceAction) -> list[BulkResourceOutcome]:
    """Queue one action on many resources; each id gets its own outcome, in the order given
    (a repeated id once). Another organization's id reads "not found", as alone it would."""
    ids = list(dict.fromkeys(data.ids))
    rows = await ctx.db.scalars(
        select(Resource).where(Resource.org_id == ctx.auth.org_id, Resource.id.in_(ids))
    )
    found = {resource.id: resource for resource in rows}
    outcomes: list[BulkResourceOutcome] = []
    for resource_id in ids:
        resource = found.get(resource_id)
        if resource is None:
            outcomes.append(
                BulkResourceOutcome(id=resource_id, ok=False, detail="Resource not found")
            )
            continue
        try:
            action = await _request(ctx, resource, data.action)
        except Conflict as exc:
            outcomes.append(BulkResourceOutcome(id=resource_id, ok=False, detail=exc.detail))
            continue
        outcomes.append(
            BulkResourceOutcome(
                id=resource_id,
                ok=True,
                detail=f"{data.action.value} requested",
                action_id=action.id,
            )
        )
    ctx.wake(Wake.resource_actions)
    return outcomes
