"""The platform admin over HTTP: organizations (list, read, plan, modules, suspension,
deletion), plans, the platform's figures, read-only impersonation and downgrade previews.

dave is a platform admin signed in to an organization of his own ("Ops"), so suspending or
deleting org A (alice and bob) or org B (carol) never touches his own token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.auth.tokens import issue_jwt
from server.context import CHECK_ENGINE, KEYS, SESSIONS
from server.db.base import utcnow
from server.monitors.models import Monitor, MonitorRollup
from server.orgs.models import Organization
from server.routes import ROUTES
from server.users.models import User
from shared.api.common import API_PREFIX
from tests.builders import Person, add_member, create_org, create_user
from tests.conftest import World, sign_in
from tests.server.api_calls import call
from tests.server.test_bad_input import VALID_BODIES
from tests.server.test_status_pages import monitor, publish

Client = TestClient  # type: ignore[type-arg]
ADMIN_ROUTES = [route for route in ROUTES if route.path.startswith("/admin/")]


async def platform_admin(client: Client, password_hash: str) -> Person:
    """dave: a platform admin, superadmin of an organization of his own."""
    async with client.app[SESSIONS]() as db, db.begin():
        org = await create_org(db, "Ops")
        user = await create_user(
            db, "dave@example.com", password_hash=password_hash, platform_admin=True
        )
        await add_member(db, user, org, "superadmin")
        person = Person(email=user.email, user_id=user.id, org_id=org.id, role="superadmin")
    return await sign_in(client, person)


@pytest.fixture
async def dave(client: Client, world: World, password_hash: str) -> Person:
    return await platform_admin(client, password_hash)


def path_of(route: Any, org_id: int) -> str:
    return route.path.replace("{id}", str(org_id))


async def audit_entries(db: AsyncSession, org_id: int, action: str) -> list[AuditLog]:
    async with db.begin():
        rows = await db.scalars(
            select(AuditLog).where(AuditLog.org_id == org_id, AuditLog.action == action)
        )
        return list(rows)


# Who may call


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_members_who_are_not_platform_admins_get_403_on_every_admin_route(
    client: Client, world: World, route: Any
) -> None:
    body = VALID_BODIES.get((route.method, route.path))
    for person in (world.alice, world.bob, world.carol):
        status, payload = await call(
            client, person, route.method, path_of(route, world.org_a), body
        )
        assert status == 403, payload
        assert payload["detail"] == "This endpoint is for platform admins"


async def test_a_platform_admins_api_key_cannot_reach_admin(client: Client, dave: Person) -> None:
    _, key = await call(client, dave, "POST", "/auth/api-keys", {"name": "script"})
    response = await client.get(
        f"{API_PREFIX}/admin/stats", headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert response.status == 403


# Organizations


async def test_the_list_shows_every_org_with_plan_usage_and_status_and_filters(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    await monitor(db, world.org_a, "API")
    status, page = await call(client, dave, "GET", "/admin/organizations")
    assert status == 200, page
    assert [org["slug"] for org in page["items"]] == ["ops", "org-a", "org-b"]
    org_a = page["items"][1]
    assert org_a["plan"] == "enterprise" and org_a["status"] == "active"
    usage = {item["limit"]: (item["current"], item["allowed"]) for item in org_a["usage"]}
    assert usage["users"] == (2, None) and usage["monitors"] == (1, None)
    _, found = await call(client, dave, "GET", "/admin/organizations?q=ORG-B")
    assert [org["slug"] for org in found["items"]] == ["org-b"]
    await call(client, dave, "PATCH", f"/admin/organizations/{world.org_b}", {"plan": "free"})
    _, free = await call(client, dave, "GET", "/admin/organizations?plan=free")
    assert [org["slug"] for org in free["items"]] == ["org-b"]
    _, suspended = await call(client, dave, "GET", "/admin/organizations?status=suspended")
    assert suspended["total"] == 0
    _, paged = await call(client, dave, "GET", "/admin/organizations?per_page=1&page=2")
    assert [org["slug"] for org in paged["items"]] == ["org-a"] and paged["total"] == 3


async def test_an_org_is_read_and_its_plan_and_granted_modules_change_audited_there(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    status, org = await call(client, dave, "GET", f"/admin/organizations/{world.org_b}")
    assert status == 200 and org["slug"] == "org-b"
    status, org = await call(
        client, dave, "PATCH", f"/admin/organizations/{world.org_b}",
        {"plan": "free", "modules": ["whitelabel", "audit_logs"]},
    )  # fmt: skip
    assert status == 200, org
    assert org["plan"] == "free" and org["extra_modules"] == ["audit_logs", "whitelabel"]
    assert org["modules"] == ["audit_logs", "whitelabel"]
    (entry,) = await audit_entries(db, world.org_b, "admin.organization.updated")
    assert entry.user_email == "dave@example.com" and "plan free" in (entry.detail or "")
    # carol's own view of her org follows at once
    _, me = await call(client, world.carol, "GET", "/auth/me")
    assert "free" in str(me).lower()


async def test_unknown_plans_orgs_and_statuses_are_refused(
    client: Client, world: World, dave: Person
) -> None:
    org_path = f"/admin/organizations/{world.org_b}"
    status, payload = await call(client, dave, "PATCH", org_path, {"plan": "platinum"})
    assert status == 400 and "'plan'" in payload["detail"]
    status, payload = await call(client, dave, "PATCH", org_path, {"status": "closed"})
    assert status == 400
    status, payload = await call(client, dave, "PATCH", org_path, {"modules": ["costs"]})
    assert status == 400
    status, _ = await call(client, dave, "GET", "/admin/organizations/999999")
    assert status == 404


async def test_an_admin_cannot_suspend_or_delete_the_org_they_are_signed_in_to(
    client: Client, dave: Person
) -> None:
    path = f"/admin/organizations/{dave.org_id}"
    status, payload = await call(client, dave, "PATCH", path, {"status": "suspended"})
    assert status == 409, payload
    status, payload = await call(client, dave, "DELETE", path, {"confirm": "ops"})
    assert status == 409, payload


# Suspension


async def test_suspending_refuses_every_token_pauses_checks_and_says_so_on_status_pages(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    monitor_id = await monitor(db, world.org_a, "API")
    await publish(client, world, [monitor_id])
    _, key = await call(client, world.alice, "POST", "/auth/api-keys", {"name": "script"})
    _, agent = await call(client, world.alice, "POST", "/agents", {"name": "web-1"})
    key_headers = {"Authorization": f"Bearer {key['key']}"}
    agent_headers = {"Authorization": f"Bearer {agent['token']}"}
    engine = client.app[CHECK_ENGINE]
    await engine.load()
    assert monitor_id in engine._monitors
    assert (await client.get("/status/org-a")).status == 200  # rendered and cached

    path = f"/admin/organizations/{world.org_a}"
    status, org = await call(client, dave, "PATCH", path, {"status": "suspended"})
    assert status == 200 and org["status"] == "suspended"

    for headers in (world.alice.headers, world.bob.headers, key_headers):
        response = await client.get(f"{API_PREFIX}/monitors", headers=headers)
        assert response.status == 403
        assert (await response.json())["detail"] == "This organization is suspended"
    ingest = await client.post(f"{API_PREFIX}/agents/ingest", json={}, headers=agent_headers)
    assert ingest.status == 403
    assert (await call(client, world.carol, "GET", "/monitors"))[0] == 200  # org B unaffected
    await engine.poll()
    assert monitor_id not in engine._monitors
    await engine.load()  # a restarted worker does not take it up either
    assert monitor_id not in engine._monitors
    page = await client.get("/status/org-a")
    assert page.status == 403 and "This status page is suspended" in await page.text()
    response = await client.get(f"{API_PREFIX}/public/status/org-a")
    assert response.status == 403
    assert (await response.json())["detail"] == "This status page is suspended"
    (entry,) = await audit_entries(db, world.org_a, "admin.organization.suspended")
    assert entry.user_email == "dave@example.com"

    status, org = await call(client, dave, "PATCH", path, {"status": "active"})
    assert status == 200 and org["status"] == "active"
    for headers in (world.alice.headers, key_headers):
        assert (await client.get(f"{API_PREFIX}/monitors", headers=headers)).status == 200
    ingest = await client.post(f"{API_PREFIX}/agents/ingest", json={}, headers=agent_headers)
    assert ingest.status == 400  # admitted again: only the empty batch is refused
    await engine.poll()
    assert monitor_id in engine._monitors
    assert (await client.get("/status/org-a")).status == 200
    assert await audit_entries(db, world.org_a, "admin.organization.reactivated")


async def test_the_engine_forgets_a_suspended_orgs_monitors_on_resync_too(
    client: Client, world: World, db: AsyncSession
) -> None:
    """Even a change made without touching the monitors (a script's SQL) stops their checks."""
    monitor_id = await monitor(db, world.org_a, "API")
    engine = client.app[CHECK_ENGINE]
    await engine.load()
    async with db.begin():
        await db.execute(
            update(Organization).where(Organization.id == world.org_a).values(status="suspended")
        )
    await engine.resync()
    assert monitor_id not in engine._monitors


# Deletion


async def test_deleting_needs_the_slug_typed_again_and_removes_everything(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    monitor_id = await monitor(db, world.org_a, "API")
    await call(client, world.alice, "POST", "/agents", {"name": "web-1"})
    path = f"/admin/organizations/{world.org_a}"
    response = await client.delete(API_PREFIX + path, headers=dave.headers)
    assert response.status == 400  # no confirmation at all
    status, payload = await call(client, dave, "DELETE", path, {"confirm": "org-b"})
    assert status == 400 and "org-a" in payload["detail"]
    assert (await call(client, dave, "GET", path))[0] == 200
    status, _ = await call(client, dave, "DELETE", path, {"confirm": "org-a"})
    assert status == 204
    assert (await call(client, dave, "GET", path))[0] == 404
    async with db.begin():
        assert await db.get(Monitor, monitor_id) is None
        alice = await db.get(User, world.alice.user_id)
        assert alice is not None  # accounts outlive the organization
    assert (await client.get(f"{API_PREFIX}/monitors", headers=world.alice.headers)).status == 401
    assert await audit_entries(db, world.org_a, "admin.organization.deleted")
    assert await audit_entries(db, dave.org_id, "admin.organization.deleted")


# Plans


async def test_plans_are_listed_created_and_changed_with_known_limits_and_modules_only(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    status, plans = await call(client, dave, "GET", "/admin/plans")
    assert status == 200
    assert {"free", "pro", "enterprise"} <= {plan["code"] for plan in plans}
    body = {
        "code": "team", "name": "Team", "price_month_cents": 1900, "price_year_cents": 19000,
        "limits": {"users": 5, "monitors": 25, "history_days": None},
        "modules": ["status_pages"],
    }  # fmt: skip
    status, plan = await call(client, dave, "POST", "/admin/plans", body)
    assert status == 201, plan
    assert plan["limits"] == {"users": 5, "monitors": 25, "history_days": None}
    assert (await call(client, dave, "POST", "/admin/plans", body))[0] == 409
    status, payload = await call(
        client, dave, "POST", "/admin/plans", {**body, "code": "x1", "limits": {"seats": 3}}
    )
    assert status == 400 and "limits" in payload["detail"]
    status, payload = await call(
        client, dave, "POST", "/admin/plans", {**body, "code": "x2", "modules": ["costs"]}
    )
    assert status == 400
    status, changed = await call(
        client, dave, "PATCH", f"/admin/plans/{plan['id']}",
        {"price_month_cents": 2900, "limits": {"monitors": 50}},
    )  # fmt: skip
    assert status == 200, changed
    assert changed["price_month_cents"] == 2900
    assert changed["limits"] == {"users": 5, "monitors": 50, "history_days": None}
    assert (await call(client, dave, "PATCH", "/admin/plans/999999", {"name": "X"}))[0] == 404
    assert await audit_entries(db, dave.org_id, "admin.plan.created")
    assert await audit_entries(db, dave.org_id, "admin.plan.updated")


# Figures


async def test_stats_count_orgs_users_monitors_checks_and_queues(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    first = await monitor(db, world.org_a, "API")
    await monitor(db, world.org_b, "Web")
    minute = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=2)
    async with db.begin():
        db.add(
            MonitorRollup(monitor_id=first, period="minute", bucket_start=minute, up=40, down=10)
        )
        await db.execute(update(Monitor).values(next_check_at=utcnow() - timedelta(minutes=1)))
    await call(
        client, dave, "PATCH", f"/admin/organizations/{world.org_b}", {"status": "suspended"}
    )
    status, stats = await call(client, dave, "GET", "/admin/stats")
    assert status == 200, stats
    assert stats["organizations"] == 3 and stats["organizations_suspended"] == 1
    assert stats["users"] == 4
    assert stats["monitors"] == 2 and stats["monitors_active"] == 1
    assert stats["checks_per_minute"] == 10.0  # 50 checks over 5 minutes
    assert stats["due_monitors"] == 1  # org B's is suspended
    assert stats["pending_jobs"] == 0 and stats["pending_deliveries"] == 0


# Impersonation


async def impersonate(client: Client, dave: Person, org_id: int, **body: Any) -> dict[str, Any]:
    fields = {"reason": "ticket 4711: monitors look wrong", "minutes": 10, **body}
    status, token = await call(
        client, dave, "POST", f"/admin/organizations/{org_id}/impersonate", fields
    )
    assert status == 200, token
    return token


async def test_an_impersonation_token_reads_the_org_but_every_write_is_403(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    monitor_id = await monitor(db, world.org_a, "API")
    token = await impersonate(client, dave, world.org_a)
    assert token["read_only"] is True and token["organization_id"] == world.org_a
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for path in ("/monitors", f"/monitors/{monitor_id}", "/users", "/audit-logs", "/auth/me"):
        response = await client.get(API_PREFIX + path, headers=headers)
        assert response.status == 200, (path, await response.text())
    listed = await (await client.get(f"{API_PREFIX}/monitors", headers=headers)).json()
    assert [item["id"] for item in listed["items"]] == [monitor_id]
    writes = [
        ("POST", "/monitors", {"name": "x", "type": "http", "url": "https://example.com/"}),
        ("PATCH", f"/monitors/{monitor_id}", {"name": "renamed"}),
        ("DELETE", f"/monitors/{monitor_id}", None),
        ("POST", f"/monitors/{monitor_id}/pause", None),
        ("POST", "/auth/api-keys", {"name": "backdoor"}),
    ]
    for method, path, body in writes:
        response = await client.request(method, API_PREFIX + path, json=body, headers=headers)
        assert response.status == 403, (method, path)
        assert "read-only impersonation" in (await response.json())["detail"]
    for route in ADMIN_ROUTES:
        response = await client.request(
            route.method, API_PREFIX + path_of(route, world.org_b),
            json=VALID_BODIES.get((route.method, route.path)), headers=headers,
        )  # fmt: skip
        assert response.status == 403, route.path
    async with db.begin():
        assert (await db.get(Monitor, monitor_id)) is not None


async def test_impersonation_is_audited_in_both_orgs_with_the_reason(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    await impersonate(client, dave, world.org_b, reason="carol asked for help")
    for org_id in (dave.org_id, world.org_b):
        (entry,) = await audit_entries(db, org_id, "admin.impersonation.started")
        assert "carol asked for help" in (entry.detail or "")
        assert entry.user_email == "dave@example.com"
    assert not await audit_entries(db, world.org_a, "admin.impersonation.started")


async def test_an_impersonation_token_expires_after_its_minutes(
    client: Client, world: World, dave: Person
) -> None:
    token = await impersonate(client, dave, world.org_a, minutes=7)
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7 * 60
    assert claims["imp"] == dave.user_id and claims["org"] == world.org_a
    expired = issue_jwt(
        client.app[KEYS].jwt_secret, subject=dave.user_id, purpose="access",
        ttl=timedelta(seconds=-1), org=world.org_a, sid=claims["sid"], imp=dave.user_id,
    )  # fmt: skip
    response = await client.get(
        f"{API_PREFIX}/monitors", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status == 401
    status, payload = await call(
        client, dave, "POST", f"/admin/organizations/{world.org_a}/impersonate",
        {"reason": "too long", "minutes": 31},
    )  # fmt: skip
    assert status == 400 and "minutes" in payload["detail"]


async def test_an_impersonation_token_ends_when_the_admin_is_one_no_more(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    token = await impersonate(client, dave, world.org_a)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    async with db.begin():
        await db.execute(
            update(User).where(User.id == dave.user_id).values(is_platform_admin=False)
        )
    assert (await client.get(f"{API_PREFIX}/monitors", headers=headers)).status == 401


async def test_a_suspended_org_cannot_be_impersonated(
    client: Client, world: World, dave: Person
) -> None:
    await call(
        client, dave, "PATCH", f"/admin/organizations/{world.org_b}", {"status": "suspended"}
    )
    status, _ = await call(
        client, dave, "POST", f"/admin/organizations/{world.org_b}/impersonate",
        {"reason": "look around", "minutes": 5},
    )  # fmt: skip
    assert status == 409


# Downgrade preview


async def test_the_downgrade_preview_names_each_exceeded_limit_and_lost_module(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    for index in range(12):
        await monitor(db, world.org_a, f"M{index}")
    async with db.begin():
        await db.execute(update(Monitor).values(interval_seconds=60))
    path = f"/admin/organizations/{world.org_a}/downgrade-preview"
    status, preview = await call(client, dave, "GET", f"{path}?plan=free")
    assert status == 200, preview
    exceeded = {item["limit"]: (item["current"], item["new_limit"]) for item in preview["exceeded"]}
    # free: 10 monitors, checks every 300 s at most; 2 of 3 users fit
    assert exceeded == {"monitors": (12, 10), "min_check_interval_seconds": (60, 300)}
    assert preview["modules_lost"] == ["audit_logs", "status_pages", "whitelabel"]
    assert preview["ok"] is False
    await call(
        client, dave, "PATCH", f"/admin/organizations/{world.org_a}", {"modules": ["whitelabel"]}
    )
    _, preview = await call(client, dave, "GET", f"{path}?plan=pro")
    assert preview["exceeded"] == [] and preview["modules_lost"] == []
    assert preview["ok"] is True
    status, payload = await call(client, dave, "GET", f"{path}?plan=platinum")
    assert status == 400 and "plan" in payload["detail"]
    status, _ = await call(client, dave, "GET", path)
    assert status == 400


async def test_counts_in_the_list_match_the_preview(
    client: Client, world: World, dave: Person, db: AsyncSession
) -> None:
    """The list's usage and the preview count the same rows."""
    await monitor(db, world.org_b, "Web")
    _, org = await call(client, dave, "GET", f"/admin/organizations/{world.org_b}")
    async with db.begin():
        count = await db.scalar(
            select(func.count()).select_from(Monitor).where(Monitor.org_id == world.org_b)
        )
    usage = {item["limit"]: item["current"] for item in org["usage"]}
    assert usage["monitors"] == count == 1
