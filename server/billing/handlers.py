"""HTTP handlers of /billing: parse -> call the service -> serialize."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.billing import invoices, pdf, service, usage, webhooks
from server.billing.models import Invoice, Plan
from server.billing.plans import SELF_HOSTED, org_plan
from server.db.paging import page_of
from server.http.errors import BadRequest, Conflict, PayloadTooLarge
from server.http.routing import Call
from server.providers.stripe import InvalidSignature, verify_event
from shared.api.billing import (
    CheckoutSession,
    InvoiceDetail,
    InvoiceRead,
    PlanRead,
    PortalSession,
    SubscriptionRead,
    UsageRead,
    WebhookAck,
)
from shared.api.common import Page


async def list_plans(call: Call) -> list[PlanRead]:
    """GET /billing/plans: every plan for sale, cheapest first (not the Self-hosted one)."""
    query = select(Plan).where(Plan.code != SELF_HOSTED)
    plans = (await call.db.scalars(query.order_by(Plan.price_month_cents, Plan.id))).all()
    return [PlanRead.model_validate(plan) for plan in plans]


async def get_subscription(call: Call) -> SubscriptionRead:
    return await service.read_subscription(call.ctx)


async def get_usage(call: Call) -> UsageRead:
    return await usage.usage(call.db, call.auth.org_id)


async def checkout(call: Call) -> CheckoutSession:
    return await service.checkout(call.ctx, call.body)


async def portal(call: Call) -> PortalSession:
    return await service.portal(call.ctx)


async def cancel(call: Call) -> SubscriptionRead:
    return await service.set_cancel(call.ctx, cancel=True)


async def resume(call: Call) -> SubscriptionRead:
    return await service.set_cancel(call.ctx, cancel=False)


async def list_invoices(call: Call) -> Page[InvoiceRead]:
    statement = (
        select(Invoice)
        .where(Invoice.org_id == call.auth.org_id)
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
    )
    return await page_of(call.db, statement, call.query, Page[InvoiceRead], invoices.invoice_read)


async def get_invoice(call: Call) -> InvoiceDetail:
    invoice = await invoices.get_invoice(call.db, call.auth.org_id, call.path["id"])
    return await invoices.invoice_detail(call.db, invoice)


async def invoice_pdf(call: Call) -> web.Response:
    invoice = await invoices.get_invoice(call.db, call.auth.org_id, call.path["id"])
    detail = await invoices.invoice_detail(call.db, invoice)
    org, _ = await org_plan(call.db, call.auth.org_id)
    name = f"invoice-{invoice.number}.pdf" if invoice.number else f"invoice-draft-{invoice.id}.pdf"
    return web.Response(
        body=pdf.invoice_pdf(detail, org_name=org.name),
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def webhook(call: Call) -> WebhookAck:
    """POST /billing/webhook: the raw body is what Stripe signed, so it is read as bytes."""
    secret = call.settings.stripe_webhook_secret
    if not secret:
        raise Conflict(service.BILLING_OFF)
    limit = call.settings.max_body_bytes
    if (call.request.content_length or 0) > limit:
        raise PayloadTooLarge(f"Request body too large (limit {limit} bytes)")
    payload = await call.request.read()
    if len(payload) > limit:
        raise PayloadTooLarge(f"Request body too large (limit {limit} bytes)")
    try:
        event = verify_event(
            payload,
            call.request.headers.get("Stripe-Signature"),
            secret,
            tolerance_seconds=call.settings.stripe_webhook_tolerance_seconds,
        )
    except InvalidSignature as exc:
        raise BadRequest(str(exc)) from exc
    return await webhooks.receive(call.ctx, event)
