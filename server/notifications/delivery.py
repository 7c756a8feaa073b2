"""What the dispatcher decides (server/engines/dispatch.py schedules): which deliveries are
due, what each one says, and what an attempt's outcome changes.

- A claim is a compare-and-set: `UPDATE ... SET lease_until WHERE still pending and not
  leased`, so two dispatchers (or one restarted) never send one delivery at once. On
  PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED`, so dispatchers claiming
  together take different rows instead of racing for the same ones. A claim counts as an
  attempt, so a delivery that crashes its sender is not retried forever.
- A sender that dies mid-send leaves the lease to lapse; the delivery is claimed again and
  sent with the same idempotency id (a receiver may see it twice, never zero times).
- A temporary error is retried after 10 s, 1 min, 5 min, 30 min, 2 h and 6 h (each
  +-20 % jitter so a recovering receiver is not hit by every retry at once), or after the
  vendor's Retry-After; then the delivery fails for good.
- A permanent error fails the delivery and disables its channel with `last_error`, and a
  `channel.disabled` event tells the admins (inbox, and their other channels). A member's
  own email has no channel to disable: it just fails.
- Emails held by quiet hours become one digest per member when those end
  (`release_digests`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.incidents.models import Incident
from server.keys import Keys
from server.notifications.channels import full_config
from server.notifications.models import (
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
)
from server.notifications.outbox import SEVERITY_RANK, new_idempotency_id
from server.orgs.models import Organization
from server.providers.channels import parse_config
from server.providers.channels.base import ChannelConfig, Notice
from server.service_context import Context
from server.status_pages.models import StatusSubscriber
from server.status_pages.subscribers import unsubscribe_url
from server.users.models import User
from shared.api.incidents import IncidentStatus
from shared.api.notifications import DeliveryStatus, EventType

BACKOFF_SECONDS = (10, 60, 300, 1800, 7200, 21600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
LEASE = timedelta(seconds=60)
JITTER = 0.2
PENDING = DeliveryStatus.pending.value
HELD = DeliveryStatus.held.value
_ESCALATED = EventType.incident_escalated.value
_FACTS = (("Status", "status"), ("Severity", "severity"), ("Trigger", "trigger_type"))


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """When to try again after the `attempts`-th attempt failed for now."""
    base = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
    delay = base * random.uniform(1 - JITTER, 1 + JITTER)  # spreading, not secrecy
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_SECONDS[-1]))
    return timedelta(seconds=delay)


@dataclass
class Job:
    """A claimed delivery with what sending it needs; `skip` says why it is not sent."""

    delivery_id: int
    attempts: int
    channel_type: str
    notice: Notice
    config: ChannelConfig | None
    skip: tuple[DeliveryStatus, str] | None = None


def _due(now: datetime) -> Any:
    return and_(
        NotificationDelivery.status == PENDING,
        NotificationDelivery.next_attempt_at <= now,
        or_(NotificationDelivery.lease_until.is_(None), NotificationDelivery.lease_until <= now),
    )


async def claim(db: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Lease up to `limit` due deliveries, oldest due first; their ids."""
    candidates = list(
        await db.scalars(
            select(NotificationDelivery.id)
            .where(_due(now))
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
            .limit(limit)
            # PostgreSQL: rows another dispatcher is claiming are passed over, not waited
            # for (SQLite, one writer at a time, ignores it; the update below decides).
            .with_for_update(skip_locked=True)
        )
    )
    if not candidates:
        return []
    claimed = await db.scalars(
        update(NotificationDelivery)
        .where(NotificationDelivery.id.in_(candidates), _due(now))
        .values(lease_until=now + LEASE, attempts=NotificationDelivery.attempts + 1)
        .returning(NotificationDelivery.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed)


async def jobs_of(db: AsyncSession, ids: list[int], keys: Keys, base_url: str) -> list[Job]:
    """What each claimed delivery sends, read in one pass. `base_url`: this server's
    public address, where a status page subscriber's unsubscribe link points."""
    rows = (
        await db.execute(
            select(
                NotificationDelivery, NotificationEvent, NotificationChannel, Organization,
                User.email, StatusSubscriber,
            )
            .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
            .join(Organization, Organization.id == NotificationDelivery.org_id)
            .outerjoin(
                NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id
            )
            .outerjoin(User, User.id == NotificationDelivery.user_id)
            .outerjoin(StatusSubscriber, StatusSubscriber.id == NotificationDelivery.subscriber_id)
            .where(NotificationDelivery.id.in_(ids))
        )
    ).all()  # fmt: skip
    open_incidents = await _open_incidents(db, [d.incident_id for d, *_ in rows if d.escalation])
    jobs = []
    for delivery, event, channel, org, member_email, subscriber in rows:
        skip: tuple[DeliveryStatus, str] | None = None
        config = None
        notice = notice_of(delivery, event, org.name)
        if member_email is not None:  # a member's own email, as their preferences ask
            config = parse_config("email", {"to": [member_email]})
        elif subscriber is not None:  # a status page's subscriber
            config = parse_config("email", {"to": [subscriber.email]})
            link = unsubscribe_url(base_url, keys.jwt_secret, subscriber.id, subscriber.nonce)
            notice = replace(notice, unsubscribe_url=link)
        elif channel is None:
            skip = (DeliveryStatus.failed, "the channel was deleted")
        elif not channel.enabled:
            skip = (DeliveryStatus.failed, "the channel is disabled")
        elif delivery.escalation and delivery.incident_id not in open_incidents:
            skip = (DeliveryStatus.cancelled, "the incident was acknowledged or resolved")
        else:
            try:
                config = full_config(channel, keys)
            except ValueError as exc:  # a key that changed, or a config no longer valid
                skip = (DeliveryStatus.failed, f"the channel's config cannot be read: {exc}")
        jobs.append(
            Job(
                delivery_id=delivery.id,
                attempts=delivery.attempts,
                channel_type=delivery.channel_type,
                notice=notice,
                config=config,
                skip=skip,
            )
        )
    return jobs


async def _open_incidents(db: AsyncSession, ids: list[int | None]) -> set[int]:
    wanted = [each for each in ids if each is not None]
    if not wanted:
        return set()
    found = await db.scalars(
        select(Incident.id).where(
            Incident.id.in_(wanted), Incident.status == IncidentStatus.open.value
        )
    )
    return set(found)


def notice_of(delivery: NotificationDelivery, event: NotificationEvent, org_name: str) -> Notice:
    incident = event.data.get("incident") or {}
    event_type = _ESCALATED if delivery.escalation else event.type
    facts = {
        label: str(incident[key])
        for label, key in (
            ("Status", "status"),
            ("Severity", "severity"),
            ("Trigger", "trigger_type"),
        )
        if incident.get(key)
    }
    if delivery.escalation:
        facts["Status"] = "open, not acknowledged"
    return Notice(
        event_type=event_type,
        idempotency_id=delivery.idempotency_id,
        dedup_key=event.dedup_key,
        title=event.title,
        text=event.text,
        severity=event.severity,  # type: ignore[arg-type]  # one of Severity's values
        occurred_at=event.created_at,
        org_name=org_name,
        status=incident.get("status"),
        facts=facts,
        data={**event.data, "event_id": event.id},
    )


async def release_digests(ctx: Context, *, now: datetime) -> int:
    """Turn the held emails whose quiet hours are over into one digest per member: a
    `digest` event and one pending email, the held ones marked digested (a compare-and-set,
    so two dispatchers never send one twice). How many digests were made."""
    db = ctx.db
    due = (
        await db.execute(
            select(NotificationDelivery.id, NotificationDelivery.org_id,
                   NotificationDelivery.user_id)
            .where(NotificationDelivery.status == HELD, NotificationDelivery.next_attempt_at <= now)
            .order_by(NotificationDelivery.id)
            .limit(1000)
            .with_for_update(skip_locked=True)  # as in claim()
        )
    ).all()  # fmt: skip
    groups: dict[tuple[int, int], list[int]] = {}
    for delivery_id, org_id, user_id in due:
        if user_id is not None:
            groups.setdefault((org_id, user_id), []).append(delivery_id)
    made = 0
    for (org_id, user_id), ids in groups.items():
        taken = list(
            await db.scalars(
                update(NotificationDelivery)
                .where(NotificationDelivery.id.in_(ids), NotificationDelivery.status == HELD)
                .values(status=DeliveryStatus.digested.value, next_attempt_at=None)
                .returning(NotificationDelivery.event_id)
                .execution_options(synchronize_session=False)
            )
        )
        if taken:
            await _digest(ctx, org_id, user_id, taken, now)
            made += 1
    return made


async def _digest(
    ctx: Context, org_id: int, user_id: int, event_ids: list[int], now: datetime
) -> None:
    events = list(
        await ctx.db.scalars(
            select(NotificationEvent)
            .where(NotificationEvent.id.in_(event_ids))
            .order_by(NotificationEvent.id)
        )
    )
    email = await ctx.db.scalar(select(User.email).where(User.id == user_id))
    if not events or email is None:
        return
    worst = max(events, key=lambda event: SEVERITY_RANK.get(event.severity, 0)).severity
    lines = [f"- {event.created_at:%Y-%m-%d %H:%M} UTC  {event.title}" for event in events]
    count = f"{len(events)} notification{'s' if len(events) != 1 else ''}"
    digest = NotificationEvent(
        org_id=org_id, type="digest", severity=worst,
        title=f"{count} while your quiet hours held them",
        text="While your quiet hours held your email:\n" + "\n".join(lines),
        dedup_key=f"digest-{user_id}-{int(now.timestamp())}",
        data={"digest": {"user_id": user_id, "event_ids": [event.id for event in events]}},
    )  # fmt: skip
    ctx.db.add(digest)
    await ctx.db.flush()
    ctx.db.add(
        NotificationDelivery(
            org_id=org_id, event_id=digest.id, channel_id=None, user_id=user_id,
            channel_name=email, channel_type="email", idempotency_id=new_idempotency_id(),
            status=PENDING, next_attempt_at=now,
        )
    )  # fmt: skip
    await ctx.db.flush()


SETTLED = (
    DeliveryStatus.delivered.value,
    DeliveryStatus.failed.value,
    DeliveryStatus.cancelled.value,
    DeliveryStatus.digested.value,
)


async def prune(
    db: AsyncSession, *, now: datetime, keep_days: float, inbox_days: float, batch: int = 1000
) -> int:
    """Delete at most `batch` rows of each kind past retention: settled deliveries (their
    attempts go with them) and the events none is left for after `keep_days`, inbox lines
    after `inbox_days`. Pending and held deliveries stay, however old. How many rows went."""
    before = now - timedelta(days=keep_days)
    old = (
        select(NotificationDelivery.id)
        .where(NotificationDelivery.status.in_(SETTLED), NotificationDelivery.created_at < before)
        .limit(batch)
    )
    deleted = await _delete(db, NotificationDelivery, old)
    unused = (
        select(NotificationEvent.id)
        .where(
            NotificationEvent.created_at < before,
            ~select(NotificationDelivery.id)
            .where(NotificationDelivery.event_id == NotificationEvent.id)
            .exists(),
        )
        .limit(batch)
    )
    deleted += await _delete(db, NotificationEvent, unused)
    stale = (
        select(Notification.id)
        .where(Notification.created_at < now - timedelta(days=inbox_days))
        .limit(batch)
    )
    return deleted + await _delete(db, Notification, stale)


async def _delete(db: AsyncSession, model: Any, ids: Any) -> int:
    result = await db.execute(
        delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
