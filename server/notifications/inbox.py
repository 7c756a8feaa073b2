"""Each member's in-app inbox (one line per event that concerns them), and the org's
delivery log with every attempt."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import paging
from server.db.base import utcnow
from server.http.errors import NotFound
from server.notifications.models import (
    DeliveryAttempt,
    Notification,
    NotificationDelivery,
    NotificationEvent,
)
from server.service_context import Context
from shared.api.common import Page
from shared.api.incidents import Severity
from shared.api.notifications import (
    AttemptRead,
    ChannelType,
    DeliveriesQuery,
    DeliveryRead,
    DeliveryStatus,
    InboxQuery,
    NotificationRead,
    UnreadCount,
)


def notification_read(line: Notification) -> NotificationRead:
    return NotificationRead(
        id=line.id,
        event_type=line.event_type,
        title=line.title,
        body=line.body,
        severity=Severity(line.severity),
        incident_id=line.incident_id,
        read=line.read_at is not None,
        created_at=line.created_at,
    )


def _mine(ctx: Context) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The caller's own lines: a member's inbox in the organization of the token."""
    return (Notification.user_id == ctx.auth.user_id, Notification.org_id == ctx.auth.org_id)


async def list_inbox(ctx: Context, *, query: InboxQuery) -> Page[NotificationRead]:
    """Newest first; `unread=true` keeps what is not read yet."""
    statement = select(Notification).where(*_mine(ctx))
    if query.unread is not None:
        read_at = Notification.read_at
        statement = statement.where(read_at.is_(None) if query.unread else read_at.is_not(None))
    statement = statement.order_by(Notification.id.desc())
    return await paging.page_of(ctx.db, statement, query, Page[NotificationRead], notification_read)


async def unread_count(ctx: Context) -> UnreadCount:
    count = await ctx.db.scalar(
        select(func.count()).where(*_mine(ctx), Notification.read_at.is_(None))
    )
    return UnreadCount(unread=count or 0)


async def _line(ctx: Context, notification_id: int) -> Notification:
    line = await ctx.db.scalar(
        select(Notification).where(Notification.id == notification_id, *_mine(ctx))
    )
    if line is None:
        raise NotFound("Notification not found")
    return line


async def mark_read(ctx: Context, *, notification_id: int) -> NotificationRead:
    line = await _line(ctx, notification_id)
    if line.read_at is None:
        line.read_at = utcnow()
        await ctx.db.flush()
    return notification_read(line)


async def mark_all_read(ctx: Context) -> UnreadCount:
    await ctx.db.execute(
        update(Notification)
        .where(*_mine(ctx), Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return UnreadCount(unread=0)


async def delete_line(ctx: Context, *, notification_id: int) -> None:
    line = await _line(ctx, notification_id)
    await ctx.db.execute(delete(Notification).where(Notification.id == line.id))


# The delivery log


async def list_deliveries(ctx: Context, *, query: DeliveriesQuery) -> Page[DeliveryRead]:
    """Newest first, filtered by channel, event type and status, each with its attempts."""
    statement = (
        select(NotificationDelivery, NotificationEvent)
        .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
        .where(NotificationDelivery.org_id == ctx.auth.org_id)
    )
    if query.channel_id is not None:
        statement = statement.where(NotificationDelivery.channel_id == query.channel_id)
    if query.event is not None:
        statement = statement.where(NotificationEvent.type == query.event)
    if query.status is not None:
        statement = statement.where(NotificationDelivery.status == query.status.value)
    statement = statement.order_by(NotificationDelivery.id.desc())
    total = await paging.count_of(ctx.db, statement)
    rows = (await ctx.db.execute(paging.window(statement, query))).all()
    attempts = await _attempts(ctx.db, [delivery.id for delivery, _ in rows])
    items = [
        _delivery_read(delivery, event, attempts.get(delivery.id, [])) for delivery, event in rows
    ]
    return paging.paged(Page[DeliveryRead], items, total, query)


async def _attempts(db: AsyncSession, delivery_ids: list[int]) -> dict[int, list[AttemptRead]]:
    found: dict[int, list[AttemptRead]] = defaultdict(list)
    if not delivery_ids:
        return found
    rows = await db.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.id)
    )
    for attempt in rows:
        found[attempt.delivery_id].append(
            AttemptRead(
                attempted_at=attempt.attempted_at,
                ok=attempt.ok,
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
            )
        )
    return found


def _delivery_read(
    delivery: NotificationDelivery, event: NotificationEvent, attempts: list[AttemptRead]
) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        channel_id=delivery.channel_id,
        channel_name=delivery.channel_name,
        channel_type=ChannelType(delivery.channel_type),
        event_id=event.id,
        event_type="incident.escalated" if delivery.escalation else event.type,
        title=event.title,
        severity=Severity(event.severity),
        incident_id=event.incident_id,
        escalation=delivery.escalation,
        idempotency_id=delivery.idempotency_id,
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_error=delivery.last_error,
        last_status_code=delivery.last_status_code,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
        attempt_log=attempts,
    )
