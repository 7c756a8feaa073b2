"""The `billing` namespace (`/billing`): the subscription, usage, checkout and the portal,
cancel and resume, invoices and their PDFs. Plans stay in `api.plans`."""

from __future__ import annotations

from typing import IO

from shared.api.billing import (
    CheckoutSession,
    InvoiceDetail,
    InvoiceRead,
    PortalSession,
    SubscriptionRead,
    UsageRead,
)
from shared.api.common import Page
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint

INVOICES = "/billing/invoices"


class Billing(Namespace[M]):
    @endpoint
    def subscription(self) -> Call[SubscriptionRead]:
        return Call("GET", "/billing/subscription", parse_as(SubscriptionRead))

    @endpoint
    def usage(self) -> Call[UsageRead]:
        return Call("GET", "/billing/usage", parse_as(UsageRead))

    @endpoint
    def checkout(self, *, plan: str, interval: str = "month") -> Call[CheckoutSession]:
        """The URL of Stripe's Checkout page for the plan (a code: "pro") and interval."""
        return Call(
            "POST",
            "/billing/checkout",
            parse_as(CheckoutSession),
            json=body(plan=plan, interval=interval),
        )

    @endpoint
    def portal(self) -> Call[PortalSession]:
        return Call("POST", "/billing/portal", parse_as(PortalSession))

    @endpoint
    def cancel(self) -> Call[SubscriptionRead]:
        """Cancel at the end of the period paid for."""
        return Call("POST", "/billing/subscription/cancel", parse_as(SubscriptionRead))

    @endpoint
    def resume(self) -> Call[SubscriptionRead]:
        return Call("POST", "/billing/subscription/resume", parse_as(SubscriptionRead))

    @endpoint
    def invoices(self, *, page: int = 1, per_page: int = 50) -> Call[Page[InvoiceRead]]:
        return Call(
            "GET", INVOICES, parse_as(Page[InvoiceRead]), params=query(page=page, per_page=per_page)
        )

    @endpoint
    def invoice(self, invoice_id: int) -> Call[InvoiceDetail]:
        return Call("GET", f"{INVOICES}/{int(invoice_id)}", parse_as(InvoiceDetail))

    @endpoint
    def invoice_pdf(self, invoice_id: int, file: IO[bytes]) -> Call[None]:
        """Stream the invoice's PDF into a binary file-like."""
        return Call("GET", f"{INVOICES}/{int(invoice_id)}/pdf", no_content, stream_to=file)
