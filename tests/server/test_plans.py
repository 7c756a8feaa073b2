"""Plans: the list, module gates (403 naming the module) and limits (403 naming the limit)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.plans import check_limit, check_minimum, require_module
from server.context import SESSIONS
from server.http.errors import Forbidden
from shared.api.billing import Limit, Module
from tests.builders import Person, add_member, create_org, create_user
from tests.conftest import World, sign_in


async def superadmin_on(
    client: TestClient, password_hash: str, plan: str, *, extra_modules: list[str] | None = None
) -> Person:
    """A signed-in superadmin of a new organization on `plan`."""
    async with client.app[SESSIONS]() as db, db.begin():
        org = await create_org(db, f"{plan.title()} Org", plan=plan)
        org.extra_modules = extra_modules or []
        user = await create_user(db, f"owner-{plan}@example.com", password_hash=password_hash)
        await add_member(db, user, org, "superadmin")
        person = Person(email=user.email, user_id=user.id, org_id=org.id, role="superadmin")
    return await sign_in(client, person)


async def test_plans_list_free_pro_enterprise_by_price(client: TestClient, world: World) -> None:
    response = await client.get("/api/v1/billing/plans", headers=world.bob.headers)
    assert response.status == 200
    plans = await response.json()
    assert [plan["code"] for plan in plans] == ["free", "pro", "enterprise"]
    prices = [plan["price_month_cents"] for plan in plans]
    assert prices == sorted(prices) and prices[0] == 0
    assert [plan["limits"]["users"] for plan in plans] == [3, 10, None]
    assert plans[0]["modules"] == []
    assert "audit_logs" in plans[1]["modules"]
    assert set(plans[2]["modules"]) == {"status_pages", "audit_logs", "whitelabel"}
    for plan in plans:
        assert set(plan["limits"]) == {limit.value for limit in Limit}
        assert plan["currency"] == "USD" and plan["name"]


async def test_the_self_hosted_plan_has_every_module_and_no_limits_and_is_not_for_sale(
    client: TestClient, password_hash: str
) -> None:
    owner = await superadmin_on(client, password_hash, "self_hosted")
    me = await (await client.get("/api/v1/auth/me", headers=owner.headers)).json()
    assert (me["plan"]["code"], me["plan"]["name"]) == ("self_hosted", "Self-hosted")
    assert set(me["plan"]["modules"]) == {module.value for module in Module}
    assert me["plan"]["limits"] == {limit.value: None for limit in Limit}
    audit = await client.get("/api/v1/audit-logs", headers=owner.headers)
    assert audit.status == 200
    monitor = {
        "name": "Often", "type": "http", "url": "http://127.0.0.1:9/",
        "interval_seconds": 10, "timeout_seconds": 5,
    }  # fmt: skip
    created = await client.post("/api/v1/monitors", json=monitor, headers=owner.headers)
    assert created.status == 201, await created.text()
    plans = await (await client.get("/api/v1/billing/plans", headers=owner.headers)).json()
    assert "self_hosted" not in [plan["code"] for plan in plans]


async def test_plans_need_a_token(client: TestClient) -> None:
    response = await client.get("/api/v1/billing/plans")
    assert response.status == 401


async def test_free_plan_has_no_audit_logs(client: TestClient, password_hash: str) -> None:
    owner = await superadmin_on(client, password_hash, "free")
    for path in ("/audit-logs", "/audit-logs/summary", "/audit-logs/export", "/audit-logs/1"):
        response = await client.get("/api/v1" + path, headers=owner.headers)
        assert response.status == 403, path
        detail = (await response.json())["detail"]
        assert "audit_logs" in detail and "Free" in detail


async def test_pro_plan_includes_audit_logs(client: TestClient, password_hash: str) -> None:
    owner = await superadmin_on(client, password_hash, "pro")
    response = await client.get("/api/v1/audit-logs", headers=owner.headers)
    assert response.status == 200


async def test_a_granted_module_opens_it_on_the_free_plan(
    client: TestClient, password_hash: str
) -> None:
    owner = await superadmin_on(client, password_hash, "free", extra_modules=["audit_logs"])
    response = await client.get("/api/v1/audit-logs/summary", headers=owner.headers)
    assert response.status == 200


async def test_require_module_names_the_module(db: AsyncSession, world: World) -> None:
    async with db.begin():
        free = await create_org(db, "Free Co", plan="free")
    with pytest.raises(Forbidden, match="'status_pages' module"):
        await require_module(db, free.id, Module.status_pages)
    await require_module(db, world.org_a, Module.whitelabel)


async def test_check_limit_names_the_limit(db: AsyncSession) -> None:
    async with db.begin():
        free = await create_org(db, "Free Co", plan="free")
        enterprise = await create_org(db, "Big Co", plan="enterprise")
    await check_limit(db, free.id, Limit.users, current=2)
    with pytest.raises(Forbidden, match="Free plan allows 3 users"):
        await check_limit(db, free.id, Limit.users, current=3)
    with pytest.raises(Forbidden, match="allows 1 cloud accounts"):
        await check_limit(db, free.id, Limit.cloud_accounts, current=1)
    await check_limit(db, enterprise.id, Limit.users, current=10_000)


async def test_check_minimum_names_the_limit(db: AsyncSession) -> None:
    async with db.begin():
        free = await create_org(db, "Free Co", plan="free")
    await check_minimum(db, free.id, Limit.min_check_interval_seconds, value=300)
    with pytest.raises(Forbidden, match="min check interval seconds is 300"):
        await check_minimum(db, free.id, Limit.min_check_interval_seconds, value=60)
