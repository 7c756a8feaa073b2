"""What one dispatcher round's outcomes change, written as a few statements for the whole
round rather than a few per delivery (a round's recording was most of a notification's
latency; docs/benchmarks.md, Notifications).

`record_round(ctx, outcomes, now)`, in the caller's transaction:
1. Keep only the deliveries still pending (another dispatcher may have taken one whose
   lease lapsed); the others' outcomes are dropped.
2. One attempt row per sent delivery (a skipped one was not attempted).
3. Delivered, retried (backoff or the vendor's Retry-After) or failed: one executemany.
4. The channels that delivered get `last_delivered_at`; incidents get one `notified`
   timeline line per channel delivery (one insert; a member's own email adds none).
5. A permanent error disables its channel and says so (`disable_channel`), once per channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from server.audit import service as audit
from server.incidents.models import Incident, IncidentEvent
from server.notifications.delivery import MAX_ATTEMPTS, Job, retry_delay
from server.notifications.models import DeliveryAttempt, NotificationChannel, NotificationDelivery
from server.notifications.outbox import Occurrence, notify
from server.providers.channels.base import DeliveryError, Sent
from server.service_context import Context
from shared.api.incidents import TimelineKind
from shared.api.notifications import DeliveryStatus, EventType

PENDING = DeliveryStatus.pending.value


@dataclass(frozen=True)
class Outcome:
    job: Job
    sent: Sent | None = None
    error: DeliveryError | None = None
    duration_ms: float = 0.0


async def record_round(ctx: Context, outcomes: list[Outcome], *, now: datetime) -> None:
    """Store a round's outcomes (the module's steps)."""
    db = ctx.db
    ids = [outcome.job.delivery_id for outcome in outcomes]
    rows = await db.scalars(
        select(NotificationDelivery).where(
            NotificationDelivery.id.in_(ids), NotificationDelivery.status == PENDING
        )
    )
    pending = {delivery.id: delivery for delivery in rows}
    kept = [outcome for outcome in outcomes if outcome.job.delivery_id in pending]
    if not kept:
        return
    attempts = [_attempt(outcome, now) for outcome in kept if outcome.job.skip is None]
    if attempts:
        await db.execute(insert(DeliveryAttempt), attempts)
    changes = [{"id": outcome.job.delivery_id, **_change(outcome, now)} for outcome in kept]
    # A Core executemany on the table: the ORM would take it for its bulk-by-key path.
    table = NotificationDelivery.metadata.tables["notification_delivery"]
    connection = await db.connection()
    await connection.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in _CHANGED}),
        [{f"b_{name}": value for name, value in change.items()} for change in changes],
    )
    delivered = [pending[o.job.delivery_id] for o in kept if o.job.skip is None and not o.error]
    await _delivered(ctx, delivered, now)
    disabled: set[int] = set()
    for outcome in kept:
        error, delivery = outcome.error, pending[outcome.job.delivery_id]
        if error is not None and error.permanent and delivery.channel_id not in disabled:
            if delivery.channel_id is not None:
                disabled.add(delivery.channel_id)
            await disable_channel(ctx, delivery, error.message, now)


# The columns every change sets (an executemany needs the same ones in every row).
_CHANGED = (
    "status", "lease_until", "next_attempt_at", "last_error", "last_status_code", "delivered_at",
)  # fmt: skip


def _attempt(outcome: Outcome, now: datetime) -> dict[str, Any]:
    error = outcome.error
    return {
        "delivery_id": outcome.job.delivery_id,
        "attempted_at": now,
        "ok": error is None,
        "status_code": error.status_code if error else _code(outcome.sent),
        "error": error.message[:2000] if error else None,
        "duration_ms": round(outcome.duration_ms, 1),
    }


def _change(outcome: Outcome, now: datetime) -> dict[str, Any]:
    job, error = outcome.job, outcome.error
    change: dict[str, Any] = dict.fromkeys(_CHANGED)
    if job.skip is not None:
        status, why = job.skip
        return change | {"status": status.value, "last_error": why}
    if error is None:
        return change | {
            "status": DeliveryStatus.delivered.value, "delivered_at": now,
            "last_status_code": _code(outcome.sent),
        }  # fmt: skip
    change |= {"status": PENDING, "last_error": error.message[:2000]}
    change["last_status_code"] = error.status_code
    if not error.permanent and job.attempts < MAX_ATTEMPTS:
        change["next_attempt_at"] = now + retry_delay(job.attempts, error.retry_after_seconds)
    else:
        change["status"] = DeliveryStatus.failed.value
    return change


def _code(sent: Sent | None) -> int | None:
    return sent.status_code if sent else None


async def _delivered(ctx: Context, delivered: list[NotificationDelivery], now: datetime) -> None:
    channel_ids = {d.channel_id for d in delivered if d.channel_id is not None}
    if channel_ids:
        await ctx.db.execute(
            update(NotificationChannel)
            .where(NotificationChannel.id.in_(channel_ids))
            .values(last_delivered_at=now)
            .execution_options(synchronize_session=False)
        )
    # A channel's delivery goes on the incident's timeline; a member's own email does not
    # (one line per member would bury the timeline).
    told = [d for d in delivered if d.incident_id is not None and d.user_id is None]
    if not told:
        return
    existing = set(
        await ctx.db.scalars(
            select(Incident.id).where(Incident.id.in_({d.incident_id for d in told}))
        )
    )
    lines = [
        {
            "incident_id": d.incident_id, "kind": TimelineKind.notified.value, "actor": "system",
            "text": f"{'Escalated to' if d.escalation else 'Sent to'} "
            f"{d.channel_type} {d.channel_name!r}",
            "created_at": now,
        }
        for d in told
        if d.incident_id in existing
    ]  # fmt: skip
    if lines:
        await ctx.db.execute(insert(IncidentEvent), lines)


async def disable_channel(
    ctx: Context, delivery: NotificationDelivery, error: str, now: datetime
) -> None:
    """Disable the delivery's channel after a permanent error, once, and say so (a member's
    own email has no channel: nothing to disable)."""
    if delivery.channel_id is None:
        return
    disabled = await ctx.db.execute(
        update(NotificationChannel)
        .where(NotificationChannel.id == delivery.channel_id, NotificationChannel.enabled.is_(True))
        .values(enabled=False, last_error=error[:2000], last_error_at=now)
        .execution_options(synchronize_session=False)
    )
    if not disabled.rowcount:  # type: ignore[attr-defined]
        return
    name = f"{delivery.channel_type} channel {delivery.channel_name!r}"
    await audit.record(
        ctx, action="channel.disabled", resource_type="notification_channel",
        resource_id=delivery.channel_id, org_id=delivery.org_id,
        detail=f"{delivery.channel_name!r} after a permanent error: {error}"[:2000],
    )  # fmt: skip
    await notify(
        ctx,
        Occurrence(
            org_id=delivery.org_id,
            type=EventType.channel_disabled.value,
            severity="error",
            title=f"Notifications to {name} stopped",
            text=(
                f"Upmetr disabled the {name} after a delivery failed for good: {error}. "
                "Fix it, then enable the channel again (upmetr channels enable "
                f"{delivery.channel_id})."
            ),
            dedup_key=f"channel-{delivery.channel_id}",
            data={"channel": {"id": delivery.channel_id, "name": delivery.channel_name}},
            skip_channel_ids=frozenset({delivery.channel_id}),
        ),
    )
