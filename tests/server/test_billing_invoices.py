"""Invoices: numbered per organization without gaps or duplicates, even when finalised at
once; listed, read with their lines and as a PDF by members of their organization only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.invoices import apply_provider_invoice, finalise
from server.billing.models import Invoice, InvoiceLine
from server.context import SESSIONS
from tests.conftest import World

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


async def add_invoice(
    db: AsyncSession, org_id: int, *, number: int | None = None, status: str = "draft"
) -> int:
    """An invoice of 19.00 with one line, straight into the database."""
    async with db.begin():
        invoice = Invoice(org_id=org_id, number=number, status=status, currency="USD",
                          subtotal_cents=1900, total_cents=1900, amount_paid_cents=1900,
                          period_start=NOW, period_end=NOW)  # fmt: skip
        db.add(invoice)
        await db.flush()
        db.add(InvoiceLine(invoice_id=invoice.id, description="Pro (monthly)", amount_cents=1900))
        invoice_id = invoice.id
    return invoice_id


async def finalise_alone(client: TestClient, invoice_id: int) -> int | None:
    """Finalise in a session and transaction of its own, as a webhook request would."""
    async with client.app[SESSIONS]() as db, db.begin():
        invoice = await db.get(Invoice, invoice_id)
        assert invoice is not None
        return await finalise(db, invoice, NOW)


async def test_concurrent_finalisations_number_every_invoice_once_without_gaps(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    drafts = [await add_invoice(db, world.org_a) for _ in range(20)]
    others = [await add_invoice(db, world.org_b) for _ in range(5)]
    # Each draft of org A is finalised twice at once (a redelivered event), B's once.
    jobs = [finalise_alone(client, invoice_id) for invoice_id in drafts * 2 + others]
    given = await asyncio.gather(*jobs)
    assert sorted(n for n in given[:40] if n is not None) == list(range(1, 21))
    assert sorted(n for n in given[40:] if n is not None) == list(range(1, 6))
    rows = (await db.execute(select(Invoice.org_id, Invoice.number))).all()
    numbers_a = sorted(number for org, number in rows if org == world.org_a)
    assert numbers_a == list(range(1, 21))


async def test_a_finalisation_rolled_back_leaves_no_gap(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    first, second = await add_invoice(db, world.org_a), await add_invoice(db, world.org_a)

    class Abort(Exception):
        pass

    try:
        async with client.app[SESSIONS]() as session, session.begin():
            invoice = await session.get(Invoice, first)
            assert invoice is not None and await finalise(session, invoice, NOW) == 1
            raise Abort
    except Abort:
        pass
    assert await finalise_alone(client, second) == 1
    assert await finalise_alone(client, first) == 2


async def test_members_read_invoices_with_their_lines_newest_first(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    older = await add_invoice(db, world.org_a, number=1, status="paid")
    newer = await add_invoice(db, world.org_a, number=2, status="open")
    response = await client.get("/api/v1/billing/invoices", headers=world.bob.headers)
    page = await response.json()
    assert [item["id"] for item in page["items"]] == [newer, older]
    assert page["total"] == 2 and page["items"][1]["total"] == "19"
    detail = await (await client.get(f"/api/v1/billing/invoices/{older}",
                                     headers=world.bob.headers)).json()  # fmt: skip
    assert detail["number"] == 1 and detail["status"] == "paid"
    assert detail["lines"] == [{"description": "Pro (monthly)", "quantity": 1, "amount": "19",
                                "period_start": None, "period_end": None}]  # fmt: skip


async def test_an_invoice_downloads_as_a_pdf(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    invoice_id = await add_invoice(db, world.org_a, number=7, status="paid")
    response = await client.get(f"/api/v1/billing/invoices/{invoice_id}/pdf",
                                headers=world.bob.headers)  # fmt: skip
    assert response.status == 200
    assert response.content_type == "application/pdf"
    assert 'filename="invoice-7.pdf"' in response.headers["Content-Disposition"]
    body = await response.read()
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")


async def test_another_organizations_invoice_is_a_404(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    invoice_id = await add_invoice(db, world.org_a, number=1, status="paid")
    for path in (f"/billing/invoices/{invoice_id}", f"/billing/invoices/{invoice_id}/pdf"):
        response = await client.get("/api/v1" + path, headers=world.carol.headers)
        assert response.status == 404, path
    page = await (await client.get("/api/v1/billing/invoices", headers=world.carol.headers)).json()
    assert page["total"] == 0


async def apply_alone(client: TestClient, org_id: int, obj: dict[str, Any], at: datetime) -> bool:
    """Apply one Stripe invoice event in a transaction of its own, as a webhook would."""
    async with client.app[SESSIONS]() as db, db.begin():
        return await apply_provider_invoice(db, org_id, obj, at)


async def test_two_events_of_one_new_invoice_applied_at_once_make_one_invoice_the_newer_kept(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = {"id": "in_race", "status": "open", "total": 1900, "amount_paid": 0}
    paid = {**created, "status": "paid", "amount_paid": 1900}
    later = NOW.replace(second=1)
    applied = await asyncio.gather(
        apply_alone(client, world.org_a, paid, later),
        apply_alone(client, world.org_a, created, NOW),
    )
    assert applied[0] is True
    rows = (await db.execute(select(Invoice.status, Invoice.amount_paid_cents))).all()
    assert rows == [("paid", 1900)]
