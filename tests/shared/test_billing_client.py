"""The `billing` namespace: the requests it sends (httpx.MockTransport records them) and
what it makes of the answers, sync and async alike."""

from __future__ import annotations

import asyncio
import io
import json

import httpx

from shared.client import AsyncClient, Client
from tests.shared.recording import recording

NOW = "2026-12-06T12:00:00Z"
PLAN = {"id": 2, "code": "pro", "name": "Pro", "price_month_cents": 1900,
        "price_year_cents": 19000, "currency": "USD", "limits": {"users": 10},
        "modules": []}  # fmt: skip
SUBSCRIPTION = {"plan": PLAN, "status": "active", "interval": "month",
                "current_period_start": NOW, "current_period_end": NOW,
                "cancel_at_period_end": False, "billing_enabled": True}  # fmt: skip
INVOICE = {"id": 4, "number": 1, "status": "paid", "currency": "USD", "subtotal": "19",
           "tax": "0", "total": "19", "amount_paid": "19", "period_start": NOW,
           "period_end": NOW, "finalized_at": NOW, "paid_at": NOW, "created_at": NOW}  # fmt: skip
LINE = {"description": "Pro", "quantity": 1, "amount": "19", "period_start": None,
        "period_end": None}  # fmt: skip
ANSWERS = {
    "GET /api/v1/billing/subscription": httpx.Response(200, json=SUBSCRIPTION),
    "GET /api/v1/billing/usage": httpx.Response(200, json={"plan": PLAN, "items": [
        {"limit": "users", "used": 2, "allowed": 10}]}),
    "POST /api/v1/billing/checkout": httpx.Response(200, json={"checkout_url": "https://pay"}),
    "POST /api/v1/billing/portal": httpx.Response(200, json={"portal_url": "https://portal"}),
    "POST /api/v1/billing/subscription/cancel": httpx.Response(
        200, json={**SUBSCRIPTION, "cancel_at_period_end": True}),
    "POST /api/v1/billing/subscription/resume": httpx.Response(200, json=SUBSCRIPTION),
    "GET /api/v1/billing/invoices": httpx.Response(
        200, json={"items": [INVOICE], "total": 1, "page": 1, "per_page": 50}),
    "GET /api/v1/billing/invoices/4": httpx.Response(200, json={**INVOICE, "lines": [LINE]}),
    "GET /api/v1/billing/invoices/4/pdf": httpx.Response(
        200, content=b"%PDF-1.3 ...", headers={"Content-Type": "application/pdf"}),
}  # fmt: skip


def test_sync_and_async_clients_offer_the_same_billing_methods() -> None:
    expected = {"subscription", "usage", "checkout", "portal", "cancel", "resume", "invoices",
                "invoice", "invoice_pdf"}  # fmt: skip
    for api in (Client("http://host"), AsyncClient("http://host")):
        assert {m for m in dir(api.billing) if not m.startswith("_")} == expected


def test_billing_calls_send_what_the_contract_says_and_read_the_answers() -> None:
    sent, handle = recording(ANSWERS)
    pdf = io.BytesIO()
    with Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handle)) as api:
        assert api.billing.subscription().plan.code == "pro"
        assert api.billing.usage().items[0].allowed == 10
        assert api.billing.checkout(plan="pro", interval="year").checkout_url == "https://pay"
        assert api.billing.portal().portal_url == "https://portal"
        assert api.billing.cancel().cancel_at_period_end is True
        assert api.billing.resume().cancel_at_period_end is False
        assert str(api.billing.invoices().items[0].total) == "19"
        assert api.billing.invoice(4).lines[0].description == "Pro"
        api.billing.invoice_pdf(4, pdf)
    assert json.loads(sent[2].content) == {"plan": "pro", "interval": "year"}
    assert pdf.getvalue().startswith(b"%PDF-")


def test_the_async_client_reads_the_subscription() -> None:
    _, handle = recording(
        {"GET /api/v1/billing/subscription": httpx.Response(200, json=SUBSCRIPTION)}
    )

    async def read() -> str:
        async with AsyncClient(
            "http://host", api_key="upk_x", transport=httpx.MockTransport(handle)
        ) as api:
            return (await api.billing.subscription()).status

    assert asyncio.run(read()) == "active"
