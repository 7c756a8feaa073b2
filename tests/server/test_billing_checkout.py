"""Checkout, the portal, cancel and resume against a Stripe-compatible world on 127.0.0.1
(localstripe behind a Stripe-shaped front), its signed webhooks reaching the server."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.billing.models import Invoice
from server.config import Settings
from tests.conftest import World
from tests.server.stripe_world import PRICES, SECRET_KEY, WEBHOOK_SECRET, StripeWorld, wait_for

API = "/api/v1"


@pytest.fixture
def settings(settings: Settings, stripe_world: StripeWorld) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SECRET_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": stripe_world.url,
            "stripe_prices": PRICES,
        }
    )


@pytest.fixture
async def billing(client: TestClient, stripe_world: StripeWorld) -> StripeWorld:
    """The world, sending its webhooks to the server under test."""
    await stripe_world.deliver_webhooks_to(str(client.make_url(API + "/billing/webhook")))
    return stripe_world


async def call(client: TestClient, method: str, path: str, headers: Any, **kw: Any) -> Any:
    response = await client.request(method, API + path, headers=headers, **kw)
    return response.status, await response.json()


async def subscribe(client: TestClient, world: World, billing: StripeWorld) -> dict[str, Any]:
    """alice buys Pro monthly and pays; the subscription as the server then has it."""
    status, body = await call(client, "POST", "/billing/checkout", world.alice.headers,
                              json={"plan": "pro", "interval": "month"})  # fmt: skip
    assert status == 200, body
    session_id = body["checkout_url"].rsplit("/", 1)[-1]
    await billing.complete_checkout(session_id)

    async def active() -> dict[str, Any] | None:
        _, got = await call(client, "GET", "/billing/subscription", world.bob.headers)
        return got if got["status"] == "active" else None

    subscription = await wait_for(active)
    assert subscription, "the subscription's webhook never arrived"
    return dict(subscription)


async def test_checkout_makes_a_customer_and_a_session_for_the_plans_price(
    client: TestClient, world: World, billing: StripeWorld
) -> None:
    status, body = await call(client, "POST", "/billing/checkout", world.alice.headers,
                              json={"plan": "pro", "interval": "year"})  # fmt: skip
    assert status == 200 and body["checkout_url"].startswith(billing.url + "/pay/cs_test_")
    (session,) = billing.checkouts.values()
    assert session["price"] == "price_pro_year" and session["mode"] == "subscription"
    assert session["metadata"] == {"org_id": str(world.org_a)}
    customer = await billing.stripe("GET", f"/v1/customers/{session['customer']}")
    assert customer["metadata"] == {"org_id": str(world.org_a)}
    # A second checkout before paying reuses the customer.
    await call(client, "POST", "/billing/checkout", world.alice.headers,
               json={"plan": "enterprise", "interval": "month"})  # fmt: skip
    assert len({each["customer"] for each in billing.checkouts.values()}) == 1


async def test_a_paid_checkout_sets_the_plan_and_brings_its_invoice(
    client: TestClient, world: World, billing: StripeWorld, db: AsyncSession
) -> None:
    subscription = await subscribe(client, world, billing)
    assert subscription["plan"]["code"] == "pro" and subscription["interval"] == "month"
    assert subscription["current_period_end"] is not None

    async def invoice_paid() -> Any:
        _, page = await call(client, "GET", "/billing/invoices", world.bob.headers)
        return page["items"] if page["items"] and page["items"][0]["status"] == "paid" else None

    (invoice,) = await wait_for(invoice_paid)
    assert invoice["number"] == 1 and invoice["total"] == "19"
    _, detail = await call(client, "GET", f"/billing/invoices/{invoice['id']}", world.bob.headers)
    assert detail["lines"] and detail["lines"][0]["amount"] == "19"
    assert await db.scalar(select(func.count()).select_from(Invoice)) == 1
    pdf = await client.get(f"{API}/billing/invoices/{invoice['id']}/pdf", headers=world.bob.headers)
    assert (await pdf.read()).startswith(b"%PDF-")


async def test_cancel_at_the_period_end_then_resume(
    client: TestClient, world: World, billing: StripeWorld, db: AsyncSession
) -> None:
    await subscribe(client, world, billing)
    status, cancelled = await call(client, "POST", "/billing/subscription/cancel",
                                   world.alice.headers)  # fmt: skip
    assert status == 200 and cancelled["cancel_at_period_end"] is True
    assert cancelled["plan"]["code"] == "pro"  # kept until the period ends
    status, again = await call(client, "POST", "/billing/subscription/cancel", world.alice.headers)
    assert status == 409 and "already" in again["detail"]
    status, resumed = await call(client, "POST", "/billing/subscription/resume",
                                 world.alice.headers)  # fmt: skip
    assert status == 200 and resumed["cancel_at_period_end"] is False
    actions = (
        await db.scalars(select(AuditLog.action).where(AuditLog.action.like("billing.%")))
    ).all()
    assert {"billing.checkout", "billing.cancel", "billing.resume"} <= set(actions)


async def test_the_portal_opens_for_the_organizations_customer(
    client: TestClient, world: World, billing: StripeWorld
) -> None:
    status, body = await call(client, "POST", "/billing/portal", world.alice.headers)
    assert status == 409 and "subscribe first" in body["detail"]
    await call(client, "POST", "/billing/checkout", world.alice.headers,
               json={"plan": "pro", "interval": "month"})  # fmt: skip
    status, body = await call(client, "POST", "/billing/portal", world.alice.headers)
    assert status == 200 and body["portal_url"].startswith(billing.url + "/portal/")
    (session,) = billing.checkouts.values()
    assert billing.portals[0]["customer"] == session["customer"]


async def test_a_paying_organization_changes_plan_in_the_portal_not_at_checkout(
    client: TestClient, world: World, billing: StripeWorld
) -> None:
    await subscribe(client, world, billing)
    status, body = await call(client, "POST", "/billing/checkout", world.alice.headers,
                              json={"plan": "enterprise", "interval": "month"})  # fmt: skip
    assert status == 409 and "portal" in body["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"plan": "gold", "interval": "month"}, "plan: no plan for sale"),
        ({"plan": "self_hosted", "interval": "month"}, "plan: no plan for sale"),
        ({"plan": "free", "interval": "month"}, "is free"),
    ],
)
async def test_checkout_of_a_plan_not_for_sale_is_a_400(
    client: TestClient, world: World, billing: StripeWorld, body: dict[str, str], detail: str
) -> None:
    status, answer = await call(client, "POST", "/billing/checkout", world.alice.headers, json=body)
    assert status == 400 and detail in answer["detail"]


async def test_stripe_refusing_a_call_is_a_409_and_a_failed_audit_entry(
    client: TestClient, world: World, billing: StripeWorld, db: AsyncSession
) -> None:
    billing.fail_next = [400]
    status, body = await call(client, "POST", "/billing/checkout", world.alice.headers,
                              json={"plan": "pro", "interval": "month"})  # fmt: skip
    assert status == 409 and "Stripe" in body["detail"]
    failed = await db.scalar(select(AuditLog).where(AuditLog.action == "billing.checkout"))
    assert failed is not None and failed.status == "failed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/billing/checkout"),
        ("POST", "/billing/portal"),
        ("POST", "/billing/subscription/cancel"),
        ("POST", "/billing/subscription/resume"),
    ],
)
async def test_a_viewer_cannot_change_billing(
    client: TestClient, world: World, billing: StripeWorld, method: str, path: str
) -> None:
    status, body = await call(client, method, path, world.bob.headers,
                              json={"plan": "pro", "interval": "month"})  # fmt: skip
    assert status == 403 and "superadmin" in body["detail"]
