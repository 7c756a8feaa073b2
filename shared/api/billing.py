"""Billing: plans (limits, modules), the subscription, usage, checkout, invoices."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.api.common import ApiModel, ReadModel, UtcDatetime


class Module(StrEnum):
    status_pages = "status_pages"
    audit_logs = "audit_logs"
    whitelabel = "whitelabel"


class Limit(StrEnum):
    users = "users"
    monitors = "monitors"
    cloud_accounts = "cloud_accounts"
    agents = "agents"
    status_pages = "status_pages"
    min_check_interval_seconds = "min_check_interval_seconds"
    history_days = "history_days"


class PlanRead(ReadModel):
    id: int
    code: str
    name: str
    price_month_cents: int
    price_year_cents: int
    currency: str
    limits: dict[str, int | None]
    modules: list[str]


class Interval(StrEnum):
    month = "month"
    year = "year"


class SubscriptionStatus(StrEnum):
    """Stripe's subscription statuses, and `none` before any checkout completed."""

    none = "none"
    incomplete = "incomplete"
    incomplete_expired = "incomplete_expired"
    trialing = "trialing"
    active = "active"
    past_due = "past_due"
    canceled = "canceled"
    unpaid = "unpaid"
    paused = "paused"


class SubscriptionRead(ReadModel):
    plan: PlanRead
    status: SubscriptionStatus
    interval: Interval | None
    current_period_start: UtcDatetime | None
    current_period_end: UtcDatetime | None
    cancel_at_period_end: bool
    # Whether this server takes payments (a Stripe key is set); a self-hosted install
    # without one shows its plan and usage only.
    billing_enabled: bool


class UsageLine(ReadModel):
    limit: Limit
    # What is in use: a count, or for min_check_interval_seconds the shortest interval of
    # the organization's monitors; null where nothing is counted (history_days).
    used: int | None
    # The plan's figure: a maximum (or, for the check interval, a minimum); null: unlimited.
    allowed: int | None


class UsageRead(ReadModel):
    plan: PlanRead
    items: list[UsageLine]


class CheckoutRequest(ApiModel):
    plan: Annotated[str, Field(min_length=1, max_length=40, description="a plan's code")]
    interval: Interval


class CheckoutSession(ReadModel):
    checkout_url: str


class PortalSession(ReadModel):
    portal_url: str


class InvoiceStatus(StrEnum):
    draft = "draft"
    open = "open"
    paid = "paid"
    void = "void"
    uncollectible = "uncollectible"


class InvoiceLineRead(ReadModel):
    description: str
    quantity: int
    amount: Decimal
    period_start: UtcDatetime | None
    period_end: UtcDatetime | None


class InvoiceRead(ReadModel):
    id: int
    # Numbered per organization without gaps, from 1, when the invoice is finalised;
    # null while it is a draft.
    number: int | None
    status: InvoiceStatus
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    period_start: UtcDatetime | None
    period_end: UtcDatetime | None
    finalized_at: UtcDatetime | None
    paid_at: UtcDatetime | None
    created_at: UtcDatetime


class InvoiceDetail(InvoiceRead):
    lines: list[InvoiceLineRead]


class WebhookAck(ReadModel):
    received: bool
    # applied | duplicate | stale | ignored
    outcome: str
