"""A server without Stripe keys (a self-hosted install) shows its plan and usage; the
payment actions say billing is off."""

from __future__ import annotations

import ast

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import World
from tests.test_import_cycles import package_sources

API = "/api/v1"


async def test_the_subscription_shows_the_plan_with_billing_off(
    client: TestClient, world: World
) -> None:
    response = await client.get(API + "/billing/subscription", headers=world.bob.headers)
    got = await response.json()
    assert response.status == 200
    assert got["plan"]["code"] == "enterprise" and got["status"] == "none"
    assert got["billing_enabled"] is False and got["cancel_at_period_end"] is False


async def test_usage_counts_against_every_limit(client: TestClient, world: World) -> None:
    monitor = {"name": "Site", "type": "http", "url": "http://127.0.0.1:9/",
               "interval_seconds": 120, "timeout_seconds": 5}  # fmt: skip
    created = await client.post(API + "/monitors", json=monitor, headers=world.alice.headers)
    assert created.status == 201
    response = await client.get(API + "/billing/usage", headers=world.bob.headers)
    usage = await response.json()
    lines = {line["limit"]: (line["used"], line["allowed"]) for line in usage["items"]}
    assert usage["plan"]["code"] == "enterprise"
    assert lines["users"] == (2, None)  # alice and bob
    assert lines["monitors"] == (1, None)
    assert lines["min_check_interval_seconds"][0] == 120
    assert lines["history_days"][0] is None
    assert set(lines) == {"users", "monitors", "cloud_accounts", "agents", "status_pages",
                          "min_check_interval_seconds", "history_days"}  # fmt: skip


@pytest.mark.parametrize(
    "path",
    ["/billing/checkout", "/billing/portal", "/billing/subscription/cancel",
     "/billing/subscription/resume"],
)  # fmt: skip
async def test_payment_actions_say_billing_is_off(
    client: TestClient, world: World, path: str
) -> None:
    response = await client.post(API + path, json={"plan": "pro", "interval": "month"},
                                 headers=world.alice.headers)  # fmt: skip
    assert response.status == 409
    assert "Billing is off on this server" in (await response.json())["detail"]


async def test_the_webhook_says_billing_is_off(client: TestClient) -> None:
    response = await client.post(API + "/billing/webhook", data=b"{}")
    assert response.status == 409


async def test_billing_reads_need_a_token(client: TestClient) -> None:
    for path in ("/billing/subscription", "/billing/usage", "/billing/invoices"):
        assert (await client.get(API + path)).status == 401, path


def test_only_providers_stripe_imports_the_stripe_sdk() -> None:
    """One package for the foreign SDK, as boto3 in providers/aws (ARCHITECTURE.md)."""
    importers = set()
    for name, path in package_sources().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(
                alias.name.split(".")[0] == "stripe" for alias in node.names
            ):
                importers.add(name)
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "stripe":
                importers.add(name)
    assert importers == {"server.providers.stripe.client", "server.providers.stripe.events"}
