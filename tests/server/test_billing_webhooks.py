"""Stripe's webhook: signed, recorded once, applied in any order; the plan follows at once."""

from __future__ import annotations

import json
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import build_app
from server.audit.models import AuditLog
from server.billing.models import Plan, Subscription, WebhookEvent
from server.config import Settings
from server.monitors.models import Monitor
from server.orgs.models import Organization
from tests.conftest import World
from tests.server.stripe_world import (
    PRICES,
    SECRET_KEY,
    WEBHOOK_SECRET,
    event,
    invoice_object,
    post_event,
    signature,
    subscription_object,
)

NOW = int(time.time())


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Billing on; no Stripe call is made by these tests (the API base answers nothing)."""
    return settings.model_copy(
        update={
            "stripe_secret_key": SECRET_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": "http://127.0.0.1:9",
            "stripe_prices": PRICES,
        }
    )


async def customer_of(db: AsyncSession, org_id: int, customer: str = "cus_a") -> None:
    """The organization has a Stripe customer (as its first checkout leaves it)."""
    async with db.begin():
        db.add(Subscription(org_id=org_id, plan_id=await plan_id(db, "free"), status="none",
                            provider_customer_id=customer))  # fmt: skip


async def plan_id(db: AsyncSession, code: str) -> int:
    return int((await db.execute(select(Plan.id).where(Plan.code == code))).scalar_one())


async def org_plan(db: AsyncSession, org_id: int) -> str:
    db.expire_all()
    plan = await db.scalar(
        select(Plan.code).join(Organization, Organization.plan_id == Plan.id)
        .where(Organization.id == org_id)
    )  # fmt: skip
    await db.rollback()
    return str(plan)


async def test_a_subscription_event_sets_the_plan_at_once(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await customer_of(db, world.org_a)
    obj = subscription_object("sub_1", "cus_a", price="price_pro_year")
    status, ack = await post_event(client, event("evt_1", "customer.subscription.created", obj,
                                                 created=NOW))  # fmt: skip
    assert (status, ack) == (200, {"received": True, "outcome": "applied"})
    assert await org_plan(db, world.org_a) == "pro"
    got = await (await client.get("/api/v1/billing/subscription", headers=world.bob.headers)).json()
    assert got["plan"]["code"] == "pro" and got["status"] == "active"
    assert got["interval"] == "year" and got["cancel_at_period_end"] is False
    assert got["current_period_end"] == "2026-06-27T20:26:40Z"
    assert got["billing_enabled"] is True
    upgrade = subscription_object("sub_1", "cus_a", price="price_enterprise_month")
    await post_event(client, event("evt_2", "customer.subscription.updated", upgrade,
                                   created=NOW + 1))  # fmt: skip
    assert await org_plan(db, world.org_a) == "enterprise"


async def test_a_redelivered_event_is_acknowledged_and_not_applied_twice(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await customer_of(db, world.org_a)
    payload = event("evt_1", "customer.subscription.created",
                    subscription_object("sub_1", "cus_a"), created=NOW)  # fmt: skip
    assert (await post_event(client, payload))[1]["outcome"] == "applied"
    assert (await post_event(client, payload))[1]["outcome"] == "duplicate"
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    audits = await db.scalar(
        select(func.count()).where(AuditLog.action == "billing.subscription_updated")
    )
    assert audits == 1


async def test_an_older_event_arriving_late_changes_nothing(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await customer_of(db, world.org_a)
    newer = subscription_object("sub_1", "cus_a", cancel_at_period_end=True)
    older = subscription_object("sub_1", "cus_a", price="price_enterprise_month")
    await post_event(client, event("evt_2", "customer.subscription.updated", newer, created=NOW))
    status, ack = await post_event(
        client, event("evt_1", "customer.subscription.updated", older, created=NOW - 5)
    )
    assert (status, ack["outcome"]) == (200, "stale")
    got = await (await client.get("/api/v1/billing/subscription", headers=world.bob.headers)).json()
    assert got["plan"]["code"] == "pro" and got["cancel_at_period_end"] is True
    row = await db.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == "evt_1"))
    assert row is not None and row.outcome == "stale" and row.processed_at is not None


async def test_a_deleted_subscription_returns_the_organization_to_free(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await customer_of(db, world.org_a)
    await post_event(client, event("evt_1", "customer.subscription.created",
                                   subscription_object("sub_1", "cus_a"), created=NOW))  # fmt: skip
    ended = subscription_object("sub_1", "cus_a", status="canceled")
    await post_event(client, event("evt_2", "customer.subscription.deleted", ended, created=NOW))
    assert await org_plan(db, world.org_a) == "free"


async def test_the_late_end_of_an_old_subscription_leaves_the_new_one(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await customer_of(db, world.org_a)
    new = subscription_object("sub_new", "cus_a")
    await post_event(client, event("evt_new", "customer.subscription.created", new, created=NOW))
    old_end = subscription_object("sub_old", "cus_a", status="canceled")
    _, ack = await post_event(
        client, event("evt_old", "customer.subscription.deleted", old_end, created=NOW + 1)
    )
    assert ack["outcome"] == "stale"
    assert await org_plan(db, world.org_a) == "pro"


async def test_events_of_one_second_are_ordered_by_their_type(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await customer_of(db, world.org_a)
    created = subscription_object("sub_1", "cus_a")
    cancelled = subscription_object("sub_1", "cus_a", cancel_at_period_end=True)
    await post_event(client, event("evt_b", "customer.subscription.updated", cancelled,
                                   created=NOW))  # fmt: skip
    _, ack = await post_event(
        client, event("evt_z", "customer.subscription.created", created, created=NOW)
    )
    assert ack["outcome"] == "stale"


async def test_a_subscription_named_by_metadata_finds_its_organization(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    obj = subscription_object("sub_1", "cus_new", org_id=world.org_b)
    _, ack = await post_event(client, event("evt_1", "customer.subscription.created", obj,
                                            created=NOW))  # fmt: skip
    assert ack["outcome"] == "applied"
    assert await org_plan(db, world.org_b) == "pro"
    row = await db.scalar(select(Subscription).where(Subscription.org_id == world.org_b))
    assert row is not None and row.provider_customer_id == "cus_new"


async def test_events_of_unknown_customers_and_other_types_are_ignored(
    client: TestClient, world: World
) -> None:
    unknown = subscription_object("sub_1", "cus_nobody")
    _, ack = await post_event(client, event("evt_1", "customer.subscription.created", unknown,
                                            created=NOW))  # fmt: skip
    assert ack["outcome"] == "ignored"
    _, ack = await post_event(client, event("evt_2", "charge.refunded", {"id": "ch_1"},
                                            created=NOW))  # fmt: skip
    assert ack["outcome"] == "ignored"


async def test_an_invoice_event_records_the_invoice_with_its_lines(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await customer_of(db, world.org_a)
    paid = invoice_object("in_1", "cus_a")
    _, ack = await post_event(client, event("evt_1", "invoice.paid", paid, created=NOW))
    assert ack["outcome"] == "applied"
    listed = await (await client.get("/api/v1/billing/invoices", headers=world.bob.headers)).json()
    assert listed["total"] == 1
    invoice = listed["items"][0]
    assert (invoice["number"], invoice["status"], invoice["total"]) == (1, "paid", "19")
    detail = await client.get(f"/api/v1/billing/invoices/{invoice['id']}",
                              headers=world.bob.headers)  # fmt: skip
    lines = (await detail.json())["lines"]
    assert [(line["description"], line["amount"]) for line in lines] == [
        ("1 x Pro (at $19.00 / month)", "19")
    ]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "header is missing"),
        (signature(b"{}", secret="whsec_other"), "does not match"),
        ("t=1,v1=00", "does not match"),
        ("garbage", "does not match"),
    ],
    # Named, not shown: a signature holds the time, and the workers must collect one name.
    ids=["missing", "another-secret", "stale-and-wrong", "garbage"],
)
async def test_an_unsigned_or_mis_signed_event_is_a_400_and_not_recorded(
    client: TestClient, world: World, db: AsyncSession, header: str | None, reason: str
) -> None:
    body = json.dumps(event("evt_1", "charge.refunded", {"id": "ch_1"}, created=NOW)).encode()
    headers = {"Stripe-Signature": header} if header else {}
    response = await client.post("/api/v1/billing/webhook", data=body, headers=headers)
    assert response.status == 400
    assert reason in (await response.json())["detail"]
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 0


async def test_a_signature_older_than_five_minutes_is_refused(
    client: TestClient, world: World
) -> None:
    payload = event("evt_1", "charge.refunded", {"id": "ch_1"}, created=NOW)
    status, answer = await post_event(client, payload, at=time.time() - 301)
    assert status == 400 and "does not match" in answer["detail"]
    status, _ = await post_event(client, payload, at=time.time() - 290)
    assert status == 200


async def test_a_downgrade_past_a_limit_keeps_what_exists_and_refuses_more_naming_it(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await customer_of(db, world.org_a)
    paid = subscription_object("sub_1", "cus_a", price="price_enterprise_month")
    await post_event(client, event("evt_1", "customer.subscription.created", paid, created=NOW))
    async with db.begin():
        db.add_all(
            Monitor(org_id=world.org_a, name=f"site {n}", type="http", url="https://a.example/")
            for n in range(11)
        )  # the Free plan allows 10
    ended = subscription_object("sub_1", "cus_a", status="canceled")
    await post_event(client, event("evt_2", "customer.subscription.deleted", ended, created=NOW))
    assert await org_plan(db, world.org_a) == "free"
    headers = world.alice.headers
    listed = await (await client.get("/api/v1/monitors", headers=headers)).json()
    assert listed["total"] == 11  # nothing is deleted
    body = {"name": "one more", "type": "http", "url": "https://a.example/more"}
    refused = await client.post("/api/v1/monitors", json=body, headers=headers)
    assert refused.status == 403 and "monitors" in (await refused.json())["detail"]
    pages = await client.get("/api/v1/status-pages/global", headers=headers)
    assert pages.status == 403 and "status_pages" in (await pages.json())["detail"]


async def test_stripes_webhook_is_not_held_to_the_per_ip_limit_of_anonymous_calls(
    settings: Settings,
) -> None:
    """Stripe sends every event from a few addresses: a burst must not be refused with 429
    (it would be retried for days). Other anonymous calls still are."""
    strict = settings.model_copy(update={"rate_limit_anon": "2/minute"})
    async with TestClient(TestServer(build_app(strict), host="127.0.0.1")) as client:
        for n in range(5):
            payload = event(
                f"evt_{n}",
                "customer.subscription.updated",
                subscription_object("sub_x", "cus_nobody"),
                created=NOW + n,
            )
            status, ack = await post_event(client, payload)
            assert (status, ack["outcome"]) == (200, "ignored")
        statuses = [(await client.get("/api/v1/public/status/nobody")).status for _ in range(3)]
        assert statuses == [404, 404, 429]
