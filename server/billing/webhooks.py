"""Stripe webhook events: recorded once, applied in any order.

1. The signature is checked (`providers.stripe.verify_event`): an unsigned, mis-signed or
   stale payload is a 400 and nothing is recorded.
2. The event goes into the ledger under its id; an id already there is a redelivery,
   acknowledged as `duplicate` and not applied again
   (https://docs.stripe.com/webhooks#handle-duplicate-events).
3. The organization is the one whose Stripe customer the object names, else the one in
   the subscription's metadata (set at checkout); none is `ignored`.
4. Subscription and invoice events are applied if newer than what was applied already
   (`subscriptions.is_newer`, the invoice's own watermark); an older one is `stale`.
5. The ledger row gets its outcome and time, and an audit entry records what changed.
All in one transaction, so an event either is recorded and applied or neither.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.audit import service as audit
from server.billing import invoices, subscriptions
from server.billing.models import WebhookEvent
from server.orgs.models import Organization
from server.providers.stripe import ProviderEvent
from server.service_context import Context
from shared.api.billing import WebhookAck

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
INVOICE_EVENTS = frozenset(
    {
        "invoice.created",
        "invoice.updated",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.voided",
        "invoice.marked_uncollectible",
    }
)
_STRIPE = "stripe"  # how audit entries name the actor of a provider's event


async def receive(ctx: Context, event: ProviderEvent) -> WebhookAck:
    db = ctx.db
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    recorded = await db.execute(
        insert(WebhookEvent)
        .values(
            provider="stripe",
            provider_event_id=event.id,
            type=event.type,
            payload=event.payload,
            received_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["provider_event_id"])
        .returning(WebhookEvent.id)
    )
    ledger_id = recorded.scalar_one_or_none()
    if ledger_id is None:
        return WebhookAck(received=True, outcome="duplicate")
    outcome = await _apply(ctx, event)
    row = await db.get(WebhookEvent, ledger_id)
    assert row is not None
    row.processed_at, row.outcome = datetime.now(UTC), outcome
    return WebhookAck(received=True, outcome=outcome)


async def _org_of(ctx: Context, event: ProviderEvent) -> int | None:
    obj = event.object
    org_id = await subscriptions.org_of_customer(ctx.db, obj.get("customer"))
    if org_id is not None:
        return org_id
    named = str((obj.get("metadata") or {}).get("org_id") or "")
    if event.type in SUBSCRIPTION_EVENTS and named.isdigit():
        return await ctx.db.scalar(select(Organization.id).where(Organization.id == int(named)))
    return None


async def _apply(ctx: Context, event: ProviderEvent) -> str:
    if event.type not in SUBSCRIPTION_EVENTS and event.type not in INVOICE_EVENTS:
        return "ignored"
    org_id = await _org_of(ctx, event)
    if org_id is None:
        return "ignored"
    if event.type in SUBSCRIPTION_EVENTS:
        row = await subscriptions.ensure_subscription(ctx.db, org_id)
        row.provider_customer_id = row.provider_customer_id or event.object.get("customer")
        applied = await subscriptions.apply_provider_subscription(
            ctx.db,
            row,
            event.object,
            event_at=event.created_at,
            event_type=event.type,
            event_id=event.id,
            prices=ctx.settings.stripe_prices,
        )
        kind, resource_id, detail = "subscription", str(row.id), f"{event.type}: {row.status}"
    else:
        applied = await invoices.apply_provider_invoice(
            ctx.db, org_id, event.object, event.created_at
        )
        kind, resource_id, detail = "invoice", str(event.object.get("id")), event.type
    if not applied:
        return "stale"
    await audit.record(
        ctx,
        action=f"billing.{kind}_updated",
        resource_type=kind,
        resource_id=resource_id,
        detail=detail,
        org_id=org_id,
        user_email=_STRIPE,
    )
    return "applied"
