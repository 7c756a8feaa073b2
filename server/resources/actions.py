"""Start, stop and reboot: which resource allows what, and carrying one action out.

An action is a `resource_action` row before it is work (pending), so a 202 loses nothing to
a restart; `carry_out` sends it to the provider and follows the state until it is stable.
The engine in server/engines/resource_actions.py runs `carry_out` for every unfinished row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import AuditRecord
from server.cloud_accounts import service as cloud_accounts
from server.cloud_accounts.models import CloudAccount
from server.config import Settings
from server.db.engine import SessionMaker
from server.events import EventPublisher
from server.keys import Keys
from server.providers import aws
from server.resources.models import Resource, ResourceAction
from server.service_context import Context, write_audit
from shared.api.events import ResourceActionFinished, ResourceStateChanged
from shared.api.resources import ActionStatus, ResourceActionName

log = logging.getLogger("upmetr.resources.actions")

PENDING = ActionStatus.pending.value
RUNNING = ActionStatus.running.value
SUCCEEDED = ActionStatus.succeeded.value
FAILED = ActionStatus.failed.value
UNFINISHED = (PENDING, RUNNING)

FOLLOW_FOR = timedelta(minutes=10)
FIRST_POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 15.0

# The stable states each type settles in: "up" after start/reboot, "down" after stop.
_UP = {"ec2_instance": "running", "rds_instance": "available"}
_DOWN = {"ec2_instance": "stopped", "rds_instance": "stopped"}
_LABELS = {
    "ec2_instance": "An EC2 instance",
    "rds_instance": "An RDS database",
    "lambda_function": "A Lambda function",
    "s3_bucket": "An S3 bucket",
    "load_balancer": "A load balancer",
}
# States from which the awaited one will not come: following ends in failure.
_DEAD_ENDS = {
    "terminated",
    "shutting-down",
    "deleting",
    "failed",
    "storage-full",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-restore",
    "inaccessible-encryption-credentials",
}


def goal(resource_type: str, action: str) -> str:
    """The state an action ends in once it has worked."""
    return _DOWN[resource_type] if action == "stop" else _UP[resource_type]


def refusal(resource: Resource, action: ResourceActionName | str) -> str | None:
    """Why `action` cannot be done on `resource` now (a 409), or None when it can."""
    action = ResourceActionName(action).value
    if resource.type not in _UP:
        label = _LABELS.get(resource.type, f"A {resource.type}")
        return (
            f"{label} cannot be started, stopped or rebooted; "
            "only EC2 instances and RDS databases can"
        )
    name, state = resource.name, resource.state
    up, down = _UP[resource.type], _DOWN[resource.type]
    if state == "terminated":
        return f"{name} is terminated"
    if action == "start" and state == up:
        return f"{name} is already {up}"
    if action == "stop" and state == down:
        return f"{name} is already {down}"
    if action == "reboot" and state == down:
        return f"{name} is {down}; only a {up} one can be rebooted"
    if state not in (up, down):
        return f"{name} is {state}; wait until it is {up} or {down}"
    return None


def supported(resource: Resource) -> list[ResourceActionName]:
    """The actions the resource allows in its current state."""
    return [action for action in ResourceActionName if refusal(resource, action) is None]


def state_event(
    resource: Resource, *, previous_state: str, action_id: int | None = None
) -> ResourceStateChanged:
    """The `resource.state` live event of a resource whose state changed."""
    return ResourceStateChanged(
        id=resource.id,
        account_id=resource.account_id,
        name=resource.name,
        type=resource.type,
        state=resource.state,
        previous_state=previous_state,
        action_id=action_id,
    )


def action_event(action: ResourceAction) -> ResourceActionFinished:
    """The `resource.action` live event of an action that finished."""
    return ResourceActionFinished(
        id=action.id,
        resource_id=action.resource_id,
        action=action.action,
        status=action.status,
        detail=action.detail,
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class ActionRunner:
    """Carries actions out: one `carry_out(action_id)` per unfinished action row."""

    def __init__(
        self,
        sessions: SessionMaker,
        events: EventPublisher,
        *,
        keys: Keys,
        settings: Settings,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        first_poll_seconds: float = FIRST_POLL_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._keys = keys
        self._settings = settings
        self._sleep = sleep
        self._first_poll_seconds = first_poll_seconds

    async def carry_out(self, action_id: int) -> None:
        """Send one action to the provider and follow the resource until it is stable.

        1. A pending action is claimed with a compare-and-set to running (another process
           that won the claim carries it out instead); a running one was claimed before a
           restart, so it is not sent again, only followed.
        2. The provider call: a refusal or any error fails the action with its reason. An
           action still pending 10 minutes after it was asked (the server was down) is
           failed instead of sent: nobody expects a stop that late.
        3. Follow: describe the resource with backoff (0.5 s doubling to 15 s). Each new
           state is stored on the resource and pushed as `resource.state`; the goal state
           (running/available, or stopped) ends it as succeeded, a dead end (terminated,
           failed, ...) as failed, and 10 minutes after the request it fails as too slow.
           Provider errors while following are retried until then unless permanent.
        4. The outcome is stored with an audit entry under the requester's name and pushed
           as `resource.action`.
        """
        async with self._sessions() as db, db.begin():
            claimed = await db.execute(
                update(ResourceAction)
                .where(ResourceAction.id == action_id, ResourceAction.status == PENDING)
                .values(status=RUNNING)
            )
            loaded = await self._load(db, action_id)
        if loaded is None:
            return
        action, resource, target = loaded
        if action.status != RUNNING:
            return
        if claimed.rowcount:  # type: ignore[attr-defined]
            if datetime.now(UTC) - _utc(action.requested_at) > FOLLOW_FOR:
                detail = "not sent: the server was down when it was asked, and it is now stale"
                await self._finish(action_id, FAILED, detail, to_state=None)
                return
            try:
                answered = await aws.resource_action(
                    target,
                    type=resource.type,
                    region=resource.region,
                    provider_id=resource.provider_id,
                    action=action.action,
                )
            except aws.AwsError as exc:
                await self._finish(action_id, FAILED, str(exc), to_state=None)
                return
            await self._observe(action_id, answered)
        await self._follow(action, resource, target)

    async def _load(
        self, db: AsyncSession, action_id: int
    ) -> tuple[ResourceAction, Resource, aws.AwsTarget] | None:
        row = (
            await db.execute(
                select(ResourceAction, Resource, CloudAccount)
                .join(Resource, Resource.id == ResourceAction.resource_id)
                .join(CloudAccount, CloudAccount.id == Resource.account_id)
                .where(ResourceAction.id == action_id)
            )
        ).first()
        if row is None:  # the resource or its account was deleted meanwhile
            return None
        action, resource, account = row
        try:
            target = cloud_accounts.aws_target(self._settings, self._keys, account)
        except ValueError as exc:
            detail = f"the account's credentials cannot be read: {exc}"
            await db.execute(
                update(ResourceAction)
                .where(ResourceAction.id == action_id, ResourceAction.status.in_(UNFINISHED))
                .values(status=FAILED, detail=detail, finished_at=datetime.now(UTC))
            )
            return None
        return action, resource, target

    async def _follow(
        self, action: ResourceAction, resource: Resource, target: aws.AwsTarget
    ) -> None:
        wanted = goal(resource.type, action.action)
        deadline = _utc(action.requested_at) + FOLLOW_FOR
        delay = self._first_poll_seconds
        state: str | None = None
        while datetime.now(UTC) < deadline:
            await self._sleep(delay)
            delay = min(delay * 2, MAX_POLL_SECONDS)
            try:
                state = await aws.resource_state(
                    target, type=resource.type, region=resource.region,
                    provider_id=resource.provider_id,
                )  # fmt: skip
            except aws.AwsError as exc:
                if exc.permanent:
                    await self._finish(action.id, FAILED, str(exc), to_state=None)
                    return
                log.warning("action %s: describing the resource failed: %s", action.id, exc)
                continue
            if not await self._observe(action.id, state):
                return  # the resource is gone
            if state == wanted:
                await self._finish(action.id, SUCCEEDED, f"{resource.name} is {state}", state)
                return
            if state in _DEAD_ENDS:
                detail = f"{resource.name} became {state} instead of {wanted}"
                await self._finish(action.id, FAILED, detail, state)
                return
        last = f" (last seen {state})" if state else ""
        minutes = int(FOLLOW_FOR.total_seconds() // 60)
        detail = f"{resource.name} did not become {wanted} within {minutes} minutes{last}"
        await self._finish(action.id, FAILED, detail, state)

    async def _observe(self, action_id: int, state: str) -> bool:
        """Store a state the provider reported, pushing `resource.state` when it changed.
        False when the action or its resource no longer exists."""
        async with self._sessions() as db, db.begin():
            row = (
                await db.execute(
                    select(ResourceAction, Resource)
                    .join(Resource, Resource.id == ResourceAction.resource_id)
                    .where(ResourceAction.id == action_id)
                )
            ).first()
            if row is None:
                return False
            action, resource = row
            action.to_state = state
            previous = resource.state
            if previous == state:
                return True
            resource.state = state
            resource.state_changed_at = datetime.now(UTC)
            payload = state_event(resource, previous_state=previous, action_id=action_id)
            org_id = resource.org_id
        self._events.publish(org_id, payload)
        return True

    async def _finish(self, action_id: int, status: str, detail: str, to_state: str | None) -> None:
        async with self._sessions() as db, db.begin():
            finished = await db.execute(
                update(ResourceAction)
                .where(ResourceAction.id == action_id, ResourceAction.status == RUNNING)
                .values(
                    status=status,
                    detail=detail[:2000],
                    finished_at=datetime.now(UTC),
                    **({"to_state": to_state} if to_state else {}),
                )
            )
            if not finished.rowcount:  # type: ignore[attr-defined]
                return
            action = await db.get(ResourceAction, action_id)
            assert action is not None
            # Done for the member who asked for it, so the entry names them.
            entry = AuditRecord(
                action=f"resource.{action.action}.{status}",
                resource_type="resource",
                resource_id=action.resource_id,
                detail=f"action {action.id}: {detail}",
                org_id=action.org_id,
                user_id=action.actor_user_id,
                user_email=action.actor,
            ).entry(Context(db=db), "success" if status == SUCCEEDED else "failed")
            await write_audit(db, [entry])
            payload = action_event(action)
            org_id = action.org_id
        self._events.publish(org_id, payload)


async def unfinished(db: AsyncSession, *, limit: int = 500) -> list[int]:
    """Ids of actions still pending or being followed, oldest first."""
    rows = await db.scalars(
        select(ResourceAction.id)
        .where(ResourceAction.status.in_(UNFINISHED))
        .order_by(ResourceAction.id)
        .limit(limit)
    )
    return list(rows)
