"""Billing tables: plans (limits, modules), an organization's subscription, its invoices
numbered without gaps, and the ledger of payment-provider events received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class Plan(Base):
    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    price_month_cents: Mapped[int] = mapped_column(default=0)
    price_year_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # {limit name: number or null for unlimited}; see shared.api.billing.Limit.
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    modules: Mapped[list[str]] = mapped_column(JSON, default=list)


class Subscription(Base):
    """An organization's paid subscription as the provider last told us (one per org).

    `provider_updated_at`, `provider_event_rank` and `provider_event_id` are the watermark:
    the time of the newest provider event applied (the object's state as of then), then,
    as Stripe's times are whole seconds, the rank of its type (created < updated < deleted)
    and its id to order events of one second. Stripe delivers events in no particular order
    and more than once (https://docs.stripe.com/webhooks#event-ordering), so an event older
    than the watermark changes nothing."""

    __tablename__ = "subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), unique=True
    )
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    # Stripe's statuses: incomplete, incomplete_expired, trialing, active, past_due,
    # canceled, unpaid, paused; "none" before any checkout completed.
    status: Mapped[str] = mapped_column(String(30), default="none")
    interval: Mapped[str | None] = mapped_column(String(5), default=None)  # month | year
    current_period_start: Mapped[datetime | None] = mapped_column(default=None)
    current_period_end: Mapped[datetime | None] = mapped_column(default=None)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    provider_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    provider_event_rank: Mapped[int] = mapped_column(default=0)
    provider_event_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InvoiceCounter(Base):
    """One row per organization: the last invoice number given. Taken with an
    UPDATE ... RETURNING in the transaction that finalises the invoice, so a number is
    either used or never given (no gaps, no duplicates)."""

    __tablename__ = "invoice_counter"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(default=0)


class Invoice(Base):
    __tablename__ = "invoice"
    __table_args__ = (
        # A number is given once per organization; drafts have none yet.
        UniqueConstraint("org_id", "number"),
        Index("ix_invoice_org_created", "org_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    number: Mapped[int | None] = mapped_column(default=None)
    # draft | open | paid | void | uncollectible (Stripe's invoice statuses)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    subtotal_cents: Mapped[int] = mapped_column(default=0)
    tax_cents: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int] = mapped_column(default=0)
    amount_paid_cents: Mapped[int] = mapped_column(default=0)
    period_start: Mapped[datetime | None] = mapped_column(default=None)
    period_end: Mapped[datetime | None] = mapped_column(default=None)
    provider_invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    finalized_at: Mapped[datetime | None] = mapped_column(default=None)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceLine(Base):
    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(default=1)
    amount_cents: Mapped[int] = mapped_column(default=0)
    period_start: Mapped[datetime | None] = mapped_column(default=None)
    period_end: Mapped[datetime | None] = mapped_column(default=None)


class WebhookEvent(Base):
    """The ledger of provider events: one row per event id, so a redelivered event is
    recognised and acknowledged without being applied twice."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), default="stripe")
    provider_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    # What applying it did: applied, stale (older than the watermark), ignored (a type or
    # customer we do not follow).
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
