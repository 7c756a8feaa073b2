"""The outbox: an event is stored, and routed into deliveries and inbox lines, in the
transaction of the change that caused it, so a change that commits is always told and a
change that rolls back never is.

`notify(ctx, occurrence)`:
1. Store the event (`notification_event`).
2. Pick the org's enabled routing rules whose events match (`budget.*` matches
   `budget.exceeded`) and whose min_severity the event reaches.
3. One delivery per enabled channel of this org that those rules or the incident's alert
   rule (server/alert_rules/) name, once each; an id of a deleted channel or another
   org's is skipped.
   Each delivery has its own idempotency id, kept across every retry.
4. For an `incident.opened` event, rules with `escalate_after_minutes` add escalation
   deliveries to their escalation channels, due that many minutes later; acknowledging or
   resolving the incident cancels them (`cancel_escalations`).
5. For each member the event concerns (every member; `channel.disabled`: the admins),
   what their preferences ask (server/notifications/preferences.py): an inbox line (a
   `notification.created` live event after commit) and an email to them, which waits
   as `held` in their quiet hours and goes out in one digest when those end.
6. A `channel.disabled` event no rule routes goes to every other enabled channel, so a
   broken channel is never disabled in silence.
7. An incident opened or resolved on a monitor that status pages show: one email to each
   confirmed subscriber of those pages (server/status_pages/subscribers.py), once per
   address, with its unsubscribe link.
8. After commit the dispatcher is woken (when the context can wake it; else its poll finds
   the deliveries within a second).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.alert_rules import service as alert_rules
from server.db.base import utcnow
from server.incidents.models import Incident
from server.notifications.models import (
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
    NotificationRule,
)
from server.notifications.preferences import preferences_of
from server.notifications.quiet import quiet_until
from server.orgs.models import Membership
from server.service_context import Context, Wake
from server.status_pages import subscribers
from server.users.models import User
from shared.api.common import Role
from shared.api.events import NotificationCreated
from shared.api.incidents import Severity
from shared.api.notifications import DeliveryStatus, EventType, Preferences, event_matches

SEVERITY_RANK = {severity.value: rank for rank, severity in enumerate(Severity)}
PENDING = DeliveryStatus.pending.value
HELD = DeliveryStatus.held.value
DEFAULTS = Preferences()
_ADMINS = (Role.admin.value, Role.superadmin.value)


@dataclass(frozen=True, kw_only=True)
class Occurrence:
    """What happened, as the outbox keeps it and every channel renders it."""

    org_id: int
    type: str
    severity: str
    title: str
    text: str
    dedup_key: str
    incident_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # The incident's alert rule, whose channels hear of it too.
    alert_rule_id: int | None = None
    # Channels never told of it, whatever the rules say (the one that was just disabled).
    skip_channel_ids: frozenset[int] = frozenset()


def incident_occurrence(incident: Incident, event_type: str, text: str | None = None) -> Occurrence:
    """The `incident.*` event of an incident's change."""
    verb = event_type.split(".")[1]
    return Occurrence(
        org_id=incident.org_id,
        type=event_type,
        severity=incident.severity,
        # The severity is a field of its own: each channel and the inbox show it (a
        # "[CRITICAL]" here made mail subjects read "[Critical] [CRITICAL] api is down").
        title=incident.title,
        text=text or f"Incident #{incident.id} {verb}: {incident.title}",
        dedup_key=f"incident-{incident.id}",
        incident_id=incident.id,
        alert_rule_id=incident.alert_rule_id,
        data={
            "incident": {
                "id": incident.id,
                "title": incident.title,
                "severity": incident.severity,
                "status": incident.status,
                "trigger_type": incident.trigger_type,
                "target_type": incident.target_type,
                "target_id": incident.target_id,
                "opened_at": incident.opened_at.isoformat().replace("+00:00", "Z"),
            }
        },
    )


def new_idempotency_id() -> str:
    """`msg_` and 22 random characters, as Standard Webhooks' message ids look."""
    return f"msg_{secrets.token_urlsafe(16)}"


async def notify(ctx: Context, occurrence: Occurrence) -> NotificationEvent:
    """Store, route and queue an event in the caller's transaction (the module's steps)."""
    db = ctx.db
    event = NotificationEvent(
        org_id=occurrence.org_id, type=occurrence.type, severity=occurrence.severity,
        title=occurrence.title[:200], text=occurrence.text[:2000],
        dedup_key=occurrence.dedup_key, incident_id=occurrence.incident_id,
        data=occurrence.data,
    )  # fmt: skip
    db.add(event)
    await db.flush()
    routed, escalations = await _routes(db, occurrence)
    if occurrence.alert_rule_id is not None:
        routed |= await alert_rules.channels_of(
            db, org_id=occurrence.org_id, rule_id=occurrence.alert_rule_id
        )
    if occurrence.type == EventType.channel_disabled and not routed:
        routed = await _enabled_channel_ids(db, occurrence.org_id)
    routed -= occurrence.skip_channel_ids
    channels = await _channels(db, occurrence.org_id, routed | set(escalations))
    now = utcnow()
    rows = [
        _delivery(event, channel, now=now, escalation=False)
        for channel_id, channel in channels.items()
        if channel_id in routed
    ]
    rows += [
        _delivery(event, channels[channel_id], now=due, escalation=True)
        for channel_id, due in escalations.items()
        if channel_id in channels
    ]
    if rows:
        await db.execute(insert(NotificationDelivery), rows)
    emailed = await _to_members(ctx, event)
    told = await _to_subscribers(
        ctx, event, await subscribers.of_incident(db, event.type, event.data)
    )
    if (rows or emailed or told) and ctx.runtime is not None:
        ctx.wake(Wake.dispatch)
    return event


async def tell_subscribers(
    ctx: Context, occurrence: Occurrence, recipients: list[subscribers.Recipient]
) -> None:
    """An event that only status page subscribers hear of (an announcement): stored, and
    one email to each, in the caller's transaction."""
    if not recipients:
        return
    event = NotificationEvent(
        org_id=occurrence.org_id, type=occurrence.type, severity=occurrence.severity,
        title=occurrence.title[:200], text=occurrence.text[:2000],
        dedup_key=occurrence.dedup_key, data=occurrence.data,
    )  # fmt: skip
    ctx.db.add(event)
    await ctx.db.flush()
    if await _to_subscribers(ctx, event, recipients) and ctx.runtime is not None:
        ctx.wake(Wake.dispatch)


async def _to_subscribers(
    ctx: Context, event: NotificationEvent, recipients: list[subscribers.Recipient]
) -> bool:
    """One email delivery to each status page subscriber; whether there was any."""
    if not recipients:
        return False
    now = utcnow()
    rows = [_to_subscriber(event, each, now) for each in recipients]
    await ctx.db.execute(insert(NotificationDelivery), rows)
    return True


def _to_subscriber(
    event: NotificationEvent, recipient: subscribers.Recipient, now: datetime
) -> dict[str, Any]:
    return {
        "org_id": event.org_id, "event_id": event.id, "channel_id": None,
        "subscriber_id": recipient.subscriber_id, "channel_name": recipient.email,
        "channel_type": "email", "incident_id": event.incident_id, "escalation": False,
        "idempotency_id": new_idempotency_id(), "status": PENDING, "attempts": 0,
        "next_attempt_at": now, "created_at": now,
    }  # fmt: skip


def _delivery(
    event: NotificationEvent, channel: NotificationChannel, *, now: Any, escalation: bool
) -> dict[str, Any]:
    return {
        "org_id": event.org_id,
        "event_id": event.id,
        "channel_id": channel.id,
        "channel_name": channel.name,
        "channel_type": channel.type,
        "incident_id": event.incident_id,
        "escalation": escalation,
        "idempotency_id": new_idempotency_id(),
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": utcnow(),
    }


async def _routes(db: AsyncSession, occurrence: Occurrence) -> tuple[set[int], dict[int, Any]]:
    """The channel ids the rules route the event to, and escalation channels by due time."""
    rules = await db.scalars(
        select(NotificationRule).where(
            NotificationRule.org_id == occurrence.org_id, NotificationRule.enabled.is_(True)
        )
    )
    rank = SEVERITY_RANK.get(occurrence.severity, 0)
    routed: set[int] = set()
    escalations: dict[int, Any] = {}
    for rule in rules:
        if rank < SEVERITY_RANK.get(rule.min_severity, 0):
            continue
        if not any(event_matches(pattern, occurrence.type) for pattern in rule.events):
            continue
        routed.update(rule.channel_ids)
        if occurrence.type == EventType.incident_opened and rule.escalate_after_minutes:
            due = utcnow() + timedelta(minutes=rule.escalate_after_minutes)
            for channel_id in rule.escalation_channel_ids:
                escalations[channel_id] = min(due, escalations.get(channel_id, due))
    return routed, escalations


async def _channels(db: AsyncSession, org_id: int, ids: set[int]) -> dict[int, NotificationChannel]:
    if not ids:
        return {}
    found = await db.scalars(
        select(NotificationChannel).where(
            NotificationChannel.org_id == org_id,
            NotificationChannel.id.in_(ids),
            NotificationChannel.enabled.is_(True),
        )
    )
    return {channel.id: channel for channel in found}


async def _enabled_channel_ids(db: AsyncSession, org_id: int) -> set[int]:
    found = await db.scalars(
        select(NotificationChannel.id).where(
            NotificationChannel.org_id == org_id, NotificationChannel.enabled.is_(True)
        )
    )
    return set(found)


async def _to_members(ctx: Context, event: NotificationEvent) -> bool:
    """Inbox lines and personal emails as each member's preferences say; whether an email
    was queued now (a held one waits for the digest)."""
    members = (
        select(Membership.user_id, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == event.org_id)
    )
    if event.type == EventType.channel_disabled:
        members = members.where(Membership.role.in_(_ADMINS))
    found = (await ctx.db.execute(members.order_by(Membership.user_id))).all()
    if not found:
        return False
    chosen = await preferences_of(ctx.db, [user_id for user_id, _ in found])
    now = utcnow()
    lines: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    for user_id, email in found:
        wants = chosen.get(user_id, DEFAULTS)
        if SEVERITY_RANK[event.severity] < SEVERITY_RANK[wants.min_severity.value]:
            continue
        choice = wants.choice(event.type)
        if choice.in_app:
            lines.append(_line(event, user_id, now))
        if choice.email:
            held_until = _held_until(wants, event.severity, now)
            emails.append(_email(event, user_id, email, now, held_until))
    if emails:
        await ctx.db.execute(insert(NotificationDelivery), emails)
    if lines:
        created = await ctx.db.scalars(insert(Notification).returning(Notification), lines)
        for line in created:
            ctx.publish_after_commit(
                NotificationCreated(
                    id=line.id, user_id=line.user_id, title=line.title,
                    severity=line.severity, notification_type=line.event_type,
                ),
                org_id=event.org_id,
            )  # fmt: skip
    return any(row["status"] == PENDING for row in emails)


def _held_until(wants: Preferences, severity: str, now: datetime) -> datetime | None:
    quiet = wants.quiet_hours
    if not quiet.enabled or (quiet.critical_bypass and severity == Severity.critical):
        return None
    return quiet_until(now, start=quiet.starts, end=quiet.ends, timezone=quiet.timezone)


def _line(event: NotificationEvent, user_id: int, now: datetime) -> dict[str, Any]:
    return {
        "org_id": event.org_id, "user_id": user_id, "event_type": event.type,
        "title": event.title, "body": event.text, "severity": event.severity,
        "incident_id": event.incident_id, "created_at": now,
    }  # fmt: skip


def _email(
    event: NotificationEvent, user_id: int, email: str, now: datetime, held_until: datetime | None
) -> dict[str, Any]:
    return {
        "org_id": event.org_id, "event_id": event.id, "channel_id": None, "user_id": user_id,
        "channel_name": email, "channel_type": "email", "incident_id": event.incident_id,
        "escalation": False, "idempotency_id": new_idempotency_id(),
        "status": HELD if held_until else PENDING, "attempts": 0,
        "next_attempt_at": held_until or now, "created_at": now,
    }  # fmt: skip


async def cancel_escalations(db: AsyncSession, incident_id: int) -> int:
    """Cancel the incident's pending escalations (acknowledged or resolved): how many."""
    result = await db.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.incident_id == incident_id,
            NotificationDelivery.escalation.is_(True),
            NotificationDelivery.status == PENDING,
        )
        .values(status=DeliveryStatus.cancelled.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
