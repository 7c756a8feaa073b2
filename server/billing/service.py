"""Billing actions of a member: the subscription, checkout, the portal, cancel and resume.

Stripe is called before this transaction writes anything, so no database lock is held
while a request to Stripe is in flight; what Stripe answers is then written and audited.
"""

from __future__ import annotations

from sqlalchemy import select

from server.audit import service as audit
from server.billing import subscriptions
from server.billing.models import Plan, Subscription
from server.billing.plans import SELF_HOSTED, org_plan
from server.http.errors import BadRequest, Conflict, ServiceUnavailable
from server.providers.stripe import PaymentError, Payments
from server.service_context import Context
from shared.api.billing import (
    CheckoutRequest,
    CheckoutSession,
    PlanRead,
    PortalSession,
    SubscriptionRead,
)

BILLING_OFF = (
    "Billing is off on this server: it has no Stripe key (UPMETR_STRIPE_SECRET_KEY); "
    "its plan and usage are shown as they are"
)


def _payments(ctx: Context) -> Payments:
    payments = ctx.shared.payments
    if payments is None:
        raise Conflict(BILLING_OFF)
    return payments


def _refused(exc: PaymentError) -> Exception:
    """A refusal is the request's fault here (a price Stripe does not know is a setting
    to fix: 409); a hiccup is worth retrying (503)."""
    return Conflict(str(exc)) if exc.permanent else ServiceUnavailable(str(exc))


async def read_subscription(ctx: Context) -> SubscriptionRead:
    org_id = ctx.auth.org_id
    row = await subscriptions.subscription_of(ctx.db, org_id)
    _, plan = await org_plan(ctx.db, org_id)
    return SubscriptionRead(
        plan=PlanRead.model_validate(plan),
        status=row.status if row else "none",
        interval=row.interval if row else None,
        current_period_start=row.current_period_start if row else None,
        current_period_end=row.current_period_end if row else None,
        cancel_at_period_end=row.cancel_at_period_end if row else False,
        billing_enabled=ctx.shared.payments is not None,
    )


async def checkout(ctx: Context, request: CheckoutRequest) -> CheckoutSession:
    """1. Billing must be on, the plan one for sale with a price, the organization not
    already paying (a change of plan is made in the portal, where Stripe prorates it).
    2. The organization's Stripe customer is made on its first checkout.
    3. A Checkout Session for the price; the subscription arrives later by webhook."""
    payments = _payments(ctx)
    org_id = ctx.auth.org_id
    plan = await ctx.db.scalar(select(Plan).where(Plan.code == request.plan))
    if plan is None or plan.code == SELF_HOSTED:
        raise BadRequest(f"plan: no plan for sale has the code '{request.plan}'")
    if plan.price_month_cents == 0 and plan.price_year_cents == 0:
        raise BadRequest(f"plan: the {plan.name} plan is free; it needs no checkout")
    key = f"{plan.code}:{request.interval}"
    price_id = ctx.settings.stripe_prices.get(key)
    if not price_id:
        raise Conflict(f"No Stripe price is set for {key} on this server (UPMETR_STRIPE_PRICES)")
    row = await subscriptions.subscription_of(ctx.db, org_id)
    if row is not None and row.status in subscriptions.PAID_STATUSES:
        raise Conflict(
            "The organization has a subscription already; change its plan in the billing "
            "portal (POST /billing/portal)"
        )
    org, _ = await org_plan(ctx.db, org_id)
    customer_id = row.provider_customer_id if row else None
    base = ctx.settings.resolved_public_url
    try:
        if customer_id is None:
            customer_id = await payments.create_customer(
                org_id=org_id, name=org.name, email=ctx.auth.email
            )
        url = await payments.checkout_url(
            customer_id=customer_id,
            price_id=price_id,
            org_id=org_id,
            success_url=f"{base}/?billing=success",
            cancel_url=f"{base}/?billing=canceled",
        )
    except PaymentError as exc:
        audit.record_failure(ctx, action="billing.checkout", detail=str(exc)[:500])
        raise _refused(exc) from exc
    row = await subscriptions.ensure_subscription(ctx.db, org_id)
    row.provider_customer_id = customer_id
    await audit.record(
        ctx,
        action="billing.checkout",
        resource_type="subscription",
        resource_id=row.id,
        detail=f"{plan.code} ({request.interval})",
    )
    return CheckoutSession(checkout_url=url)


async def portal(ctx: Context) -> PortalSession:
    payments = _payments(ctx)
    row = await subscriptions.subscription_of(ctx.db, ctx.auth.org_id)
    if row is None or row.provider_customer_id is None:
        raise Conflict("The organization has no billing account yet: subscribe first")
    try:
        url = await payments.portal_url(
            customer_id=row.provider_customer_id, return_url=ctx.settings.resolved_public_url
        )
    except PaymentError as exc:
        raise _refused(exc) from exc
    await audit.record(
        ctx, action="billing.portal", resource_type="subscription", resource_id=row.id
    )
    return PortalSession(portal_url=url)


async def _paying(ctx: Context) -> tuple[Payments, Subscription, str]:
    payments = _payments(ctx)
    row = await subscriptions.subscription_of(ctx.db, ctx.auth.org_id)
    if (
        row is None
        or row.provider_subscription_id is None
        or row.status not in subscriptions.PAID_STATUSES
    ):
        raise Conflict("The organization has no active subscription")
    return payments, row, row.provider_subscription_id


async def set_cancel(ctx: Context, *, cancel: bool) -> SubscriptionRead:
    """Cancel at the end of the period paid for, or resume (take the cancellation back).
    The row takes Stripe's answer now; its watermark moves only with webhook events."""
    payments, row, provider_id = await _paying(ctx)
    if row.cancel_at_period_end == cancel:
        state = "set to cancel at the period's end" if cancel else "not set to cancel"
        raise Conflict(f"The subscription is {state} already")
    try:
        answer = await payments.set_cancel_at_period_end(provider_id, cancel)
    except PaymentError as exc:
        raise _refused(exc) from exc
    row.cancel_at_period_end = bool(answer.get("cancel_at_period_end"))
    await audit.record(
        ctx,
        action="billing.cancel" if cancel else "billing.resume",
        resource_type="subscription",
        resource_id=row.id,
    )
    return await read_subscription(ctx)
