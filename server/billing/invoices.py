"""Invoices: mirrored from the provider's, numbered per organization without gaps.

A number is given in the transaction that first sees the invoice finalised (any status but
draft), from the organization's counter row:
1. Claim the invoice: `UPDATE invoice SET finalized_at WHERE id AND number IS NULL`; no row
   means another transaction numbered it already, so stop (no duplicate).
2. Make sure the counter row exists (INSERT ... ON CONFLICT DO NOTHING).
3. `UPDATE invoice_counter SET last_number = last_number + 1 ... RETURNING last_number`:
   the row lock (SQLite's write lock, PostgreSQL's row lock) orders concurrent finalisations.
4. Write the number on the invoice.
Everything is in the caller's transaction: if it rolls back, the number was never taken
(no gap).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.models import Invoice, InvoiceCounter, InvoiceLine
from server.http.errors import NotFound
from shared.api.billing import InvoiceDetail, InvoiceLineRead, InvoiceRead

# Stripe amounts are integers in the currency's smallest unit; the currencies billed here
# have two decimals (https://docs.stripe.com/currencies#zero-decimal lists those that do not).
CENTS = Decimal(100)


async def finalise(db: AsyncSession, invoice: Invoice, at: datetime) -> int | None:
    """Number `invoice` (see the module's steps); the number given, or None if it had one."""
    claimed = await db.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.number.is_(None))
        .values(finalized_at=at)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await db.refresh(invoice)
        return None
    dialect = db.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await db.execute(
        insert(InvoiceCounter).values(org_id=invoice.org_id, last_number=0).on_conflict_do_nothing()
    )
    number = (
        await db.execute(
            update(InvoiceCounter)
            .where(InvoiceCounter.org_id == invoice.org_id)
            .values(last_number=InvoiceCounter.last_number + 1)
            .returning(InvoiceCounter.last_number)
        )
    ).scalar_one()
    await db.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id)
        .values(number=number)
        .execution_options(synchronize_session=False)
    )
    invoice.number, invoice.finalized_at = number, at
    return int(number)


# An invoice's statuses only move forward (https://docs.stripe.com/invoicing/overview#invoice-statuses):
# of two events of one second, the later status is the newer.
_STATUS_RANKS = {"draft": 0, "open": 1}


def _is_newer(invoice: Invoice, status: str, event_at: datetime) -> bool:
    if invoice.provider_updated_at is None:
        return True
    if event_at != invoice.provider_updated_at:
        return event_at > invoice.provider_updated_at
    return _STATUS_RANKS.get(status, 2) > _STATUS_RANKS.get(invoice.status, 2)


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _tax(obj: dict[str, Any]) -> int:
    if obj.get("tax") is not None:
        return int(obj["tax"])
    # Since API version 2025-03-31 the tax is a list (`total_taxes`), not one amount.
    return sum(int(tax.get("amount") or 0) for tax in obj.get("total_taxes") or [])


async def _mirror(db: AsyncSession, org_id: int, provider_invoice_id: str) -> Invoice | None:
    """The invoice mirroring Stripe's, if any. SQLite applies one webhook at a time (its
    write lock); PostgreSQL may apply two events of one invoice at once (created, paid),
    and both would insert it. There the row is made if missing (a concurrent insert waits
    for the other's commit, then does nothing) and locked until commit, so the second
    event is applied after the first, under _is_newer's rule."""
    found = select(Invoice).where(Invoice.provider_invoice_id == provider_invoice_id)
    if db.get_bind().dialect.name != "postgresql":
        return await db.scalar(found)
    await db.execute(
        pg_insert(Invoice)
        .values(org_id=org_id, provider_invoice_id=provider_invoice_id)
        .on_conflict_do_nothing(index_elements=["provider_invoice_id"])
    )
    return await db.scalar(found.with_for_update())


async def apply_provider_invoice(
    db: AsyncSession, org_id: int, obj: dict[str, Any], event_at: datetime
) -> bool:
    """Mirror a Stripe invoice object as of `event_at`; False when an event as new or newer
    was applied already (the invoice is left as it is)."""
    invoice = await _mirror(db, org_id, str(obj["id"]))
    if invoice is None:
        invoice = Invoice(org_id=org_id, provider_invoice_id=str(obj["id"]))
        db.add(invoice)
    elif not _is_newer(invoice, str(obj.get("status") or "draft"), event_at):
        return False
    transitions = obj.get("status_transitions") or {}
    invoice.status = str(obj.get("status") or "draft")
    invoice.currency = str(obj.get("currency") or "usd").upper()
    invoice.subtotal_cents = int(obj.get("subtotal") or 0)
    invoice.tax_cents = _tax(obj)
    invoice.total_cents = int(obj.get("total") or 0)
    invoice.amount_paid_cents = int(obj.get("amount_paid") or 0)
    invoice.period_start = _time(obj.get("period_start"))
    invoice.period_end = _time(obj.get("period_end"))
    invoice.paid_at = _time(transitions.get("paid_at")) or (
        invoice.paid_at or (event_at if invoice.status == "paid" else None)
    )
    invoice.provider_updated_at = event_at
    await db.flush()
    await db.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
    lines = (obj.get("lines") or {}).get("data") or []
    db.add_all([_line(invoice.id, line) for line in lines])
    if invoice.status != "draft" and invoice.number is None:
        await finalise(db, invoice, _time(transitions.get("finalized_at")) or event_at)
    return True


def _line(invoice_id: int, line: dict[str, Any]) -> InvoiceLine:
    period = line.get("period") or {}
    return InvoiceLine(
        invoice_id=invoice_id,
        description=str(line.get("description") or "Subscription")[:500],
        quantity=int(line.get("quantity") or 1),
        amount_cents=int(line.get("amount") or 0),
        period_start=_time(period.get("start")),
        period_end=_time(period.get("end")),
    )


def invoice_read(invoice: Invoice) -> InvoiceRead:
    return InvoiceRead(**_fields(invoice))


def _fields(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": Decimal(invoice.subtotal_cents) / CENTS,
        "tax": Decimal(invoice.tax_cents) / CENTS,
        "total": Decimal(invoice.total_cents) / CENTS,
        "amount_paid": Decimal(invoice.amount_paid_cents) / CENTS,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "finalized_at": invoice.finalized_at,
        "paid_at": invoice.paid_at,
        "created_at": invoice.created_at,
    }


async def get_invoice(db: AsyncSession, org_id: int, invoice_id: int) -> Invoice:
    """The organization's invoice; another organization's is a 404, as a missing one."""
    invoice = await db.scalar(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.org_id == org_id)
    )
    if invoice is None:
        raise NotFound("Invoice not found")
    return invoice


async def invoice_detail(db: AsyncSession, invoice: Invoice) -> InvoiceDetail:
    lines = await db.scalars(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.id)
    )
    return InvoiceDetail(
        **_fields(invoice),
        lines=[
            InvoiceLineRead(
                description=line.description,
                quantity=line.quantity,
                amount=Decimal(line.amount_cents) / CENTS,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for line in lines
        ],
    )
