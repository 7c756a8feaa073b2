"""Stripe's events in any order, some twice, end in one state: a shuffled and duplicated
stream of one subscription's and its invoices' events, replayed in 100 orders against the
server, always leaves the subscription, the plan and the invoices as the newest events say,
and the invoices numbered 1..n."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.app import build_app
from server.billing.models import Invoice, Plan, Subscription
from server.config import Settings
from server.context import SESSIONS
from server.orgs.models import Organization
from tests.builders import create_org
from tests.server.stripe_world import (
    PRICES,
    SECRET_KEY,
    WEBHOOK_SECRET,
    event,
    invoice_object,
    post_event,
    subscription_object,
)

T = int(time.time()) - 60


def stream(customer: str, tag: str) -> list[dict[str, Any]]:
    """One subscription's life (created, upgraded, set to cancel, in the same second as
    the upgrade for one pair) and two invoices' (created, finalised, paid)."""
    sub = "sub_" + tag
    events = [
        event(f"evt_{tag}_1", "customer.subscription.created",
              subscription_object(sub, customer, status="incomplete"), created=T),
        event(f"evt_{tag}_2", "customer.subscription.updated",
              subscription_object(sub, customer), created=T + 1),
        event(f"evt_{tag}_3", "customer.subscription.updated",
              subscription_object(sub, customer, price="price_enterprise_year"), created=T + 2),
        event(f"evt_{tag}_4", "customer.subscription.updated",
              subscription_object(sub, customer, price="price_enterprise_year",
                                  cancel_at_period_end=True), created=T + 3),
    ]  # fmt: skip
    steps = (("invoice.created", "draft"), ("invoice.finalized", "open"), ("invoice.paid", "paid"))
    for number, (first, total) in enumerate(((T, 1900), (T + 2, 9900)), start=1):
        for step, (type_, status) in enumerate(steps):
            obj = invoice_object(f"in_{tag}_{number}", customer, status=status, total=total)
            # created and finalised in one second, as Stripe does for a subscription's first
            events.append(event(f"evt_{tag}_in{number}_{step}", type_,
                                obj, created=first + (step + 1) // 2))  # fmt: skip
    return events


EXPECTED_SUBSCRIPTION = ("active", "year", True, "enterprise")
EXPECTED_INVOICES = {"1": ("paid", 1900), "2": ("paid", 9900)}


def test_any_order_of_events_with_duplicates_ends_in_the_same_state(
    settings: Settings,
) -> None:
    billing_on = settings.model_copy(
        update={
            "stripe_secret_key": SECRET_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": "http://127.0.0.1:9",
            "stripe_prices": PRICES,
        }
    )
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_check_orders(billing_on, loop))
    finally:
        loop.close()


async def _check_orders(server_settings: Settings, loop: asyncio.AbstractEventLoop) -> None:
    async with TestClient(TestServer(build_app(server_settings), host="127.0.0.1")) as client:
        runs = itertools.count()

        @settings(max_examples=100, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
        @given(data=st.data())
        def same_end(data: st.DataObject) -> None:
            tag = str(next(runs))
            events = stream(f"cus_{tag}", tag)
            repeated = data.draw(st.lists(st.sampled_from(events), max_size=6), label="again")
            order = data.draw(st.permutations(events + repeated), label="order")
            future = asyncio.run_coroutine_threadsafe(_replay(client, tag, order), loop)
            future.result()

        await loop.run_in_executor(None, same_end)


async def _replay(client: TestClient, tag: str, order: list[dict[str, Any]]) -> None:
    sessions = client.app[SESSIONS]
    async with sessions() as db, db.begin():
        org = await create_org(db, f"Org {tag}", plan="free")
        free = await db.scalar(select(Plan.id).where(Plan.code == "free"))
        assert free is not None
        db.add(Subscription(org_id=org.id, plan_id=free, provider_customer_id=f"cus_{tag}"))
        org_id = org.id
    for payload in order:
        status, _ = await post_event(client, payload)
        assert status == 200
    async with sessions() as db:
        row = await db.scalar(select(Subscription).where(Subscription.org_id == org_id))
        plan = await db.scalar(
            select(Plan.code).join(Organization, Organization.plan_id == Plan.id)
            .where(Organization.id == org_id)
        )  # fmt: skip
        assert row is not None
        assert (row.status, row.interval, row.cancel_at_period_end, plan) == EXPECTED_SUBSCRIPTION
        invoices = (await db.scalars(select(Invoice).where(Invoice.org_id == org_id))).all()
        got = {i.provider_invoice_id.rsplit("_", 1)[-1]: (i.status, i.total_cents)
               for i in invoices if i.provider_invoice_id}  # fmt: skip
        assert got == EXPECTED_INVOICES
        assert sorted(i.number for i in invoices if i.number is not None) == [1, 2]
