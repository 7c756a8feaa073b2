"""A Stripe-compatible world on 127.0.0.1 for the billing tests.

localstripe (a stateful fake Stripe, run as a subprocess) holds customers, plans,
subscriptions and invoices, and sends signed webhooks. It lacks Checkout Sessions and the
billing portal, so a small Stripe-shaped server in front of it answers those two and passes
every other request through. `complete_checkout` then does what a customer paying on the
Checkout page makes Stripe do: a card, a subscription to the session's price, and its events.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

SECRET_KEY = "sk_test_upmetr"
WEBHOOK_SECRET = "whsec_upmetr_tests"
# Plans are prices of Stripe's older API; localstripe has plans only, and a subscription
# item names its plan's id where Stripe's names the price's.
PRICES = {
    "pro:month": "price_pro_month",
    "pro:year": "price_pro_year",
    "enterprise:month": "price_enterprise_month",
    "enterprise:year": "price_enterprise_year",
}
AMOUNTS = {"pro": 1900, "enterprise": 9900}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """localstripe on 127.0.0.1 for the session (one per test worker); tests flush it."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@dataclass
class StripeWorld:
    url: str  # what the server under test calls its Stripe API base
    localstripe: str
    http: aiohttp.ClientSession
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    portals: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer next, once each

    async def stripe(self, method: str, path: str, **data: Any) -> dict[str, Any]:
        """A call to localstripe with the secret key, form-encoded as Stripe takes it."""
        async with self.http.request(
            method,
            self.localstripe + path,
            data=_form(data) if data else None,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        ) as response:
            body: dict[str, Any] = await response.json()
            assert response.status == 200, body
            return body

    async def deliver_webhooks_to(self, url: str) -> None:
        async with self.http.post(
            f"{self.localstripe}/_config/webhooks/upmetr",
            data={"url": url, "secret": WEBHOOK_SECRET},
        ) as response:
            assert response.status == 200

    async def complete_checkout(self, session_id: str) -> str:
        """Pay a Checkout Session: its customer gets a card and a subscription to its price
        with the session's subscription metadata; the subscription's id."""
        session = self.checkouts[session_id]
        card = await self.stripe(
            "POST", "/v1/payment_methods", type="card",
            card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        )  # fmt: skip
        await self.stripe(
            "POST", f"/v1/payment_methods/{card['id']}/attach", customer=session["customer"]
        )
        await self.stripe(
            "POST", f"/v1/customers/{session['customer']}",
            invoice_settings={"default_payment_method": card["id"]},
        )  # fmt: skip
        subscription = await self.stripe(
            "POST", "/v1/subscriptions", customer=session["customer"],
            items=[{"plan": session["price"]}], metadata=session["metadata"],
        )  # fmt: skip
        return str(subscription["id"])


def _form(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested keys in brackets (`card[number]`, `items[0][plan]`)."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs += _form(value, name)
        elif isinstance(value, list):
            pairs += _form(dict(enumerate(value)), name)
        else:
            pairs.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return pairs


def _front(world: StripeWorld) -> web.Application:
    ids = itertools.count(1)

    async def checkout_session(request: web.Request) -> web.Response:
        form = await request.post()
        number = next(ids)
        session_id = f"cs_test_{number}"
        metadata = {
            key[len("subscription_data[metadata][") : -1]: str(value)
            for key, value in form.items()
            if key.startswith("subscription_data[metadata][")
        }
        world.checkouts[session_id] = {
            "customer": form["customer"],
            "price": form["line_items[0][price]"],
            "mode": form["mode"],
            "client_reference_id": form.get("client_reference_id"),
            "success_url": form["success_url"],
            "metadata": metadata,
        }
        url = f"{world.url}/pay/{session_id}"
        return web.json_response({"id": session_id, "object": "checkout.session", "url": url})

    async def portal_session(request: web.Request) -> web.Response:
        form = await request.post()
        session = {"id": f"bps_{next(ids)}", "object": "billing_portal.session",
                   "customer": form["customer"], "return_url": form.get("return_url")}  # fmt: skip
        session["url"] = f"{world.url}/portal/{session['id']}"
        world.portals.append(session)
        return web.json_response(session)

    async def passthrough(request: web.Request) -> web.StreamResponse:
        if world.fail_next:
            status = world.fail_next.pop(0)
            error = {"type": "invalid_request_error", "message": f"refused ({status})"}
            return web.json_response({"error": error}, status=status)
        headers = {"Authorization": request.headers.get("Authorization", "")}
        if "Content-Type" in request.headers:
            headers["Content-Type"] = request.headers["Content-Type"]
        async with world.http.request(
            request.method, world.localstripe + request.path_qs,
            data=await request.read(), headers=headers,
        ) as answer:  # fmt: skip
            return web.Response(
                body=await answer.read(), status=answer.status, content_type="application/json"
            )

    app = web.Application()
    app.router.add_post("/v1/checkout/sessions", checkout_session)
    app.router.add_post("/v1/billing_portal/sessions", portal_session)
    app.router.add_route("*", "/{path:.*}", passthrough)
    return app


@pytest.fixture
async def stripe_world(localstripe: str) -> AsyncIterator[StripeWorld]:
    """A flushed localstripe with the plans of PRICES, behind the Stripe-shaped front."""
    async with aiohttp.ClientSession() as http:
        world = StripeWorld(url="", localstripe=localstripe, http=http)
        async with http.delete(f"{localstripe}/_config/data") as response:
            assert response.status == 200
        for key, price in PRICES.items():
            code, _, interval = key.partition(":")
            await world.stripe(
                "POST", "/v1/plans", id=price, amount=AMOUNTS[code], currency="usd",
                interval=interval, product={"name": code.title()},
            )  # fmt: skip
        server = TestServer(_front(world), host="127.0.0.1")
        await server.start_server()
        world.url = str(server.make_url("")).rstrip("/")
        try:
            yield world
        finally:
            await server.close()


def signature(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: float | None = None) -> str:
    """A `Stripe-Signature` header as Stripe makes it: t=<unix time>,v1=<HMAC-SHA256 of
    "<t>.<payload>" keyed with the endpoint's secret> (https://docs.stripe.com/webhooks#verify-manually)."""
    timestamp = int(at if at is not None else time.time())
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(event_id: str, type_: str, obj: dict[str, Any], *, created: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": type_,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
    }


def subscription_object(
    sub_id: str,
    customer: str,
    *,
    price: str = "price_pro_month",
    status: str = "active",
    cancel_at_period_end: bool = False,
    period: tuple[int, int] = (1_780_000_000, 1_782_592_000),
    org_id: int | None = None,
) -> dict[str, Any]:
    interval = price.rsplit("_", 1)[-1]
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "metadata": {"org_id": str(org_id)} if org_id else {},
        "items": {"data": [{
            "price": {"id": price, "recurring": {"interval": interval}},
            "current_period_start": period[0], "current_period_end": period[1],
        }]},
    }  # fmt: skip


def invoice_object(
    invoice_id: str, customer: str, *, status: str = "paid", total: int = 1900
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "status": status,
        "currency": "usd",
        "subtotal": total,
        "tax": 0,
        "total": total,
        "amount_paid": total if status == "paid" else 0,
        "period_start": 1_780_000_000,
        "period_end": 1_782_592_000,
        "lines": {"data": [{
            "description": "1 x Pro (at $19.00 / month)", "quantity": 1, "amount": total,
            "period": {"start": 1_780_000_000, "end": 1_782_592_000},
        }]},
    }  # fmt: skip


async def post_event(client: Any, payload: dict[str, Any], **signing: Any) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    response = await client.post(
        "/api/v1/billing/webhook",
        data=body,
        headers={
            "Stripe-Signature": signature(body, **signing),
            "Content-Type": "application/json",
        },
    )
    return response.status, await response.json()


async def wait_for(check: Any, *, seconds: float = 15) -> Any:
    """Polls an async `check` until it returns something true (localstripe's webhooks
    arrive about a second after the change that sends them)."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)
