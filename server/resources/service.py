"""Members asking for resource actions: refused at once (409) or queued for the engine (202).

The request only records the action (pending) with an audit entry; after it commits, the
resource action engine is woken to carry it out (server/resources/actions.py), so the
answer does not wait on AWS.
"""

from __future__ import annotations

from sqlalchemy import select

from server.audit import service as audit
from server.engines.resource_actions import RESOURCE_ACTIONS
from server.http.errors import Conflict
from server.http.routing import Call
from server.resources import actions, queries
from server.resources.models import Resource, ResourceAction
from shared.api.resources import (
    BulkResourceAction,
    BulkResourceOutcome,
    ResourceActionName,
    ResourceActionRead,
)


def _wake_engine(call: Call) -> None:
    engine = call.request.app.get(RESOURCE_ACTIONS)
    if engine is not None:
        call.after_commit(engine.wake)


async def _request(call: Call, resource: Resource, name: ResourceActionName) -> ResourceAction:
    """Queue `name` on `resource`, or raise Conflict (audited as failed) saying why not."""
    reason = actions.refusal(resource, name)
    if reason is None and await queries.busy(call.db, resource_id=resource.id):
        reason = f"{resource.name} has an action in progress; wait until it finishes"
    if reason is not None:
        audit.record_failure(
            call, action=f"resource.{name.value}", resource_type="resource",
            resource_id=resource.id, detail=reason,
        )  # fmt: skip
        raise Conflict(reason)
    action = ResourceAction(
        org_id=resource.org_id,
        resource_id=resource.id,
        action=name.value,
        status=actions.PENDING,
        actor=call.auth.email,
        actor_user_id=call.auth.user_id,
        from_state=resource.state,
    )
    call.db.add(action)
    await call.db.flush()
    await audit.record(
        call, action=f"resource.{name.value}", resource_type="resource",
        resource_id=resource.id,
        detail=f"action {action.id} requested on {resource.name} ({resource.provider_id}), "
        f"{resource.state}",
    )  # fmt: skip
    return action


async def request_action(
    call: Call, *, resource_id: int, name: ResourceActionName
) -> ResourceActionRead:
    resource = await queries.resource_of(call.db, org_id=call.auth.org_id, resource_id=resource_id)
    action = await _request(call, resource, name)
    _wake_engine(call)
    return ResourceActionRead.model_validate(action)


async def bulk(call: Call, *, data: BulkResourceAction) -> list[BulkResourceOutcome]:
    """Queue one action on many resources; each id gets its own outcome, in the order given
    (a repeated id once). Another organization's id reads "not found", as alone it would."""
    ids = list(dict.fromkeys(data.ids))
    rows = await call.db.scalars(
        select(Resource).where(Resource.org_id == call.auth.org_id, Resource.id.in_(ids))
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
            action = await _request(call, resource, data.action)
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
    _wake_engine(call)
    return outcomes
