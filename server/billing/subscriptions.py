"""An organization's subscription: reading it, and applying the provider's view of it.

Stripe sends subscription events in no guaranteed order and sometimes twice
(https://docs.stripe.com/webhooks#event-ordering). Each event carries the subscription as
of the event's time, so the row keeps the newest such time as a watermark (with the event
id to order events of one second) and an event that is not newer changes nothing: whatever
order the events arrive in, the row ends as the newest event says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.models import Plan, Subscription
from server.billing.plans import org_plan
from server.orgs.models import Organization

FREE = "free"
# The statuses in which the paid plan is the organization's plan: `past_due` keeps it
# while Stripe retries the payment (Smart Retries), as the customer has not left.
PAID_STATUSES = frozenset({"active", "trialing", "past_due"})
# A subscription that has ended; its late events must not touch a newer one.
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})


# Events of one second are ordered by what their type says of the subscription's life.
_RANKS = {"customer.subscription.created": 0, "customer.subscription.deleted": 2}


def rank_of(event_type: str) -> int:
    return _RANKS.get(event_type, 1)


def is_newer(row: Subscription, event_at: datetime, rank: int, event_id: str) -> bool:
    """Whether an event is newer than the last one applied to `row`: by time, then rank,
    then id (two updates of one second have no other order; the id makes the choice
    the same whatever order they arrive in)."""
    if row.provider_updated_at is None:
        return True
    applied = (row.provider_updated_at, row.provider_event_rank, row.provider_event_id or "")
    return (event_at, rank, event_id) > applied


async def subscription_of(db: AsyncSession, org_id: int) -> Subscription | None:
    return await db.scalar(select(Subscription).where(Subscription.org_id == org_id))


async def ensure_subscription(db: AsyncSession, org_id: int) -> Subscription:
    """The organization's row, made (status "none", its current plan) when first needed."""
    row = await subscription_of(db, org_id)
    if row is None:
        _, plan = await org_plan(db, org_id)
        row = Subscription(org_id=org_id, plan_id=plan.id, status="none")
        db.add(row)
        await db.flush()
    return row


async def org_of_customer(db: AsyncSession, customer_id: str | None) -> int | None:
    if not customer_id:
        return None
    return await db.scalar(
        select(Subscription.org_id).where(Subscription.provider_customer_id == customer_id)
    )


def price_of(obj: dict[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    """(price id, interval, first item) of a subscription object. An item carries its
    `price`, and the legacy `plan` beside it (plans are prices of an older API)."""
    items = (obj.get("items") or {}).get("data") or [{}]
    item = items[0] or {}
    price = item.get("price") or item.get("plan") or {}
    interval = (price.get("recurring") or {}).get("interval") or price.get("interval")
    return price.get("id"), interval, item


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def plan_code_of_price(prices: dict[str, str], price_id: str | None) -> str | None:
    """The plan a price is for, from the settings' "<plan>:<interval>" -> price map."""
    for key, value in prices.items():
        if value == price_id:
            return key.partition(":")[0]
    return None


async def apply_provider_subscription(
    db: AsyncSession,
    row: Subscription,
    obj: dict[str, Any],
    *,
    event_at: datetime,
    event_type: str,
    event_id: str,
    prices: dict[str, str],
) -> bool:
    """Apply the subscription as of an event; False (nothing changed) when it is stale or
    is the late end of a subscription other than the current one. A plan change applies
    at once: the organization's limits and modules are the new plan's from this commit."""
    rank = rank_of(event_type)
    if not is_newer(row, event_at, rank, event_id):
        return False
    status = str(obj.get("status") or "incomplete")
    current = row.provider_subscription_id
    if current and current != obj.get("id") and status in ENDED_STATUSES:
        return False
    price_id, interval, item = price_of(obj)
    code = plan_code_of_price(prices, price_id)
    plan = await db.scalar(select(Plan).where(Plan.code == code)) if code else None
    row.provider_subscription_id = str(obj["id"])
    row.status = status
    row.interval = interval if interval in ("month", "year") else row.interval
    # Since API version 2025-03-31 the period is on each item, no longer on the
    # subscription (https://docs.stripe.com/changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end).
    row.current_period_start = _time(
        obj.get("current_period_start") or item.get("current_period_start")
    )
    row.current_period_end = _time(obj.get("current_period_end") or item.get("current_period_end"))
    row.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    if plan is not None:
        row.plan_id = plan.id
    row.provider_updated_at, row.provider_event_rank = event_at, rank
    row.provider_event_id = event_id
    await _set_org_plan(db, row)
    return True


async def _set_org_plan(db: AsyncSession, row: Subscription) -> None:
    org = await db.get(Organization, row.org_id)
    assert org is not None
    if row.status in PAID_STATUSES:
        org.plan_id = row.plan_id
    else:
        free = await db.scalar(select(Plan.id).where(Plan.code == FREE))
        if free is not None:
            org.plan_id = free
