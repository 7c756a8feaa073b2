"""Tenancy and roles over the whole route table.

carol (superadmin of org B) gets a 404 for every org-A object id; bob (viewer in org A) gets
a 403 on every route that needs a higher role. New routes are covered through ROUTES.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.models import Agent, AgentContainer
from server.alert_rules.models import AlertOverride, AlertRule
from server.audit.models import AuditLog
from server.auth.models import ApiKey, AuthSession
from server.auth.tokens import hash_secret, new_secret
from server.billing.models import Invoice
from server.budgets.models import Budget
from server.cloud_accounts.models import CloudAccount
from server.http.routing import Access
from server.incidents.models import Incident
from server.jobs.models import Job
from server.monitors.models import MaintenanceWindow, Monitor
from server.notifications.models import (
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
    NotificationRule,
)
from server.resources.models import Resource
from server.routes import ROUTES
from server.status_pages.models import Announcement, StatusPage, StatusSubscriber
from server.users.models import Invitation, SshKey, User
from shared.api.common import API_PREFIX, Role
from tests.conftest import World
from tests.server.test_bad_input import SSH_PUBLIC_KEY, VALID_BODIES

# Platform admin routes take any organization's ids by design; a member who is no platform
# admin gets a 403 on each (tests/server/test_admin.py), never a look at an object.
ID_ROUTES = [
    route for route in ROUTES if "{id}" in route.path and route.access is not Access.platform_admin
]
# Which kind of org-A object each id route takes, by the start of its path.
ID_KINDS = {
    "/auth/sessions/": "session",
    "/auth/api-keys/": "api_key",
    "/users/invitations/": "invitation",
    "/users/me/ssh-keys/": "ssh_key",
    "/users/": "member",
    "/audit-logs/": "audit_log",
    "/incidents/": "incident",
    "/monitors/": "monitor",
    "/cloud-accounts/": "cloud_account",
    "/jobs/": "job",
    "/resources/": "resource",
    "/budgets/": "budget",
    "/alert-rules/": "alert_rule",
    "/agents/": "agent",
    "/metrics/agents/": "agent",
    "/notifications/channels/": "channel",
    "/notifications/rules/": "rule",
    "/notifications/": "notification",
    "/status-pages/clients/": "status_page",
    "/status-pages/announcements/": "announcement",
    "/status-pages/subscribers/": "subscriber",
    "/billing/invoices/": "invoice",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def route_id(route: Any) -> str:
    return f"{route.method} {route.path}"


def kind_of(route: Any) -> str:
    for prefix, kind in ID_KINDS.items():
        if route.path.startswith(prefix):
            return kind
    raise AssertionError(f"add the id kind of {route.path} to ID_KINDS")


@pytest.fixture
async def org_a_ids(db: AsyncSession, world: World) -> dict[str, int]:
    """One object of each kind in org A (bob is the member; he has an avatar)."""
    async with db.begin():
        session_id = await db.scalar(
            select(AuthSession.id).where(AuthSession.user_id == world.alice.user_id).limit(1)
        )
        key = ApiKey(
            org_id=world.org_a,
            user_id=world.alice.user_id,
            name="deploys",
            role="viewer",
            key_hash=hash_secret(new_secret("upk_")),
            last_four="ab12",
        )
        invitation = Invitation(
            org_id=world.org_a,
            email="invitee@example.com",
            role="viewer",
            token_hash=hash_secret(new_secret()),
            invited_by_id=world.alice.user_id,
            expires_at=datetime.now(UTC) + timedelta(days=7),
        )
        incident = Incident(
            org_id=world.org_a, title="Org A is down", severity="critical", trigger_type="manual"
        )
        db.add_all([key, invitation, incident])
        monitor = Monitor(
            org_id=world.org_a, name="Org A homepage", type="http", url="https://a.example/"
        )
        db.add(monitor)
        await db.flush()
        window = MaintenanceWindow(
            monitor_id=monitor.id,
            starts_at=datetime.now(UTC),
            ends_at=datetime.now(UTC) + timedelta(hours=1),
        )
        db.add(window)
        account = CloudAccount(
            org_id=world.org_a,
            name="Org A production",
            provider="aws",
            auth_method="keys",
            credentials="not read by these routes",
            credentials_hint="****A001",
            default_region="us-east-1",
        )
        db.add(account)
        await db.flush()
        # A finished job: the always-running job engines leave it alone.
        job = Job(org_id=world.org_a, kind="discovery", account_id=account.id, status="succeeded")
        resource = Resource(
            org_id=world.org_a,
            account_id=account.id,
            provider="aws",
            provider_id="i-0a0a0a0a0a0a0a0a0",
            type="ec2_instance",
            name="org-a-web",
            state="running",
            region="us-east-1",
        )
        budget = Budget(
            org_id=world.org_a, name="Org A compute", amount_micros=1_000_000_000, period="monthly"
        )
        db.add_all([job, resource, budget])
        channel = NotificationChannel(
            org_id=world.org_a, name="Org A pager", type="email", config={"to": ["a@example.com"]}
        )
        event = NotificationEvent(
            org_id=world.org_a, type="incident.opened", severity="critical",
            title="Org A event", text="Org A is down", dedup_key="incident-0",
        )  # fmt: skip
        line = Notification(
            org_id=world.org_a, user_id=world.alice.user_id, event_type="incident.opened",
            title="Org A inbox line", body="Org A is down", severity="critical",
        )  # fmt: skip
        db.add_all([channel, event, line])
        await db.flush()
        rule = NotificationRule(
            org_id=world.org_a, name="Org A route", events=["*"], channel_ids=[channel.id]
        )
        sent = NotificationDelivery(  # delivered: the running dispatcher leaves it alone
            org_id=world.org_a, event_id=event.id, channel_id=channel.id,
            channel_name=channel.name, channel_type="email", idempotency_id="msg_org_a",
            status="delivered", next_attempt_at=None,
        )  # fmt: skip
        alert_rule = AlertRule(
            org_id=world.org_a, name="Org A alert", trigger_type="infra_metric", scope={},
            metric="cpu_pct", condition="above", threshold=90.0,
        )  # fmt: skip
        agent = Agent(
            org_id=world.org_a, name="Org A host", token_hash=hash_secret(new_secret("upa_")),
            token_hint="****ab12",
        )  # fmt: skip
        db.add_all([rule, sent, alert_rule, agent])
        await db.flush()
        db.add_all([
            AgentContainer(agent_id=agent.id, name="web", state="running"),
            AlertOverride(rule_id=alert_rule.id, agent_id=agent.id, threshold=95.0),
        ])  # fmt: skip
        status_page = StatusPage(org_id=world.org_a, kind="client", name="Org A clients",
                                 slug="org-a-clients")  # fmt: skip
        db.add(status_page)
        await db.flush()
        announcement = Announcement(
            org_id=world.org_a,
            page_id=status_page.id,
            title="Org A notice",
            body="Slow",
            state="investigating",
        )
        subscriber = StatusSubscriber(org_id=world.org_a, page_id=status_page.id,
                                      email="reader-a@example.com", nonce="n",
                                      confirmed_at=datetime.now(UTC))  # fmt: skip
        invoice = Invoice(org_id=world.org_a, number=1, status="paid", total_cents=1900)
        ssh_key = SshKey(user_id=world.alice.user_id, name="alice's laptop",
                         public_key=SSH_PUBLIC_KEY, fingerprint="SHA256:alice")  # fmt: skip
        db.add_all([announcement, subscriber, invoice, ssh_key])
        await db.flush()
        await db.execute(
            update(User)
            .where(User.id == world.bob.user_id)
            .values(avatar=PNG, avatar_content_type="image/png")
        )
        entry = await db.scalar(
            insert(AuditLog)
            .values(org_id=world.org_a, action="secret.of_a", status="success")
            .returning(AuditLog.id)
        )
        await db.flush()
        assert session_id is not None and entry is not None
        return {
            "session": session_id,
            "api_key": key.id,
            "invitation": invitation.id,
            "member": world.bob.user_id,
            "audit_log": entry,
            "incident": incident.id,
            "monitor": monitor.id,
            "window": window.id,
            "cloud_account": account.id,
            "job": job.id,
            "resource": resource.id,
            "budget": budget.id,
            "channel": channel.id,
            "rule": rule.id,
            "alert_rule": alert_rule.id,
            "agent": agent.id,
            "notification": line.id,
            "status_page": status_page.id,
            "announcement": announcement.id,
            "subscriber": subscriber.id,
            "invoice": invoice.id,
            "ssh_key": ssh_key.id,
        }


def path_for(route: Any, ids: dict[str, int]) -> str:
    path = route.path.replace("{id}", str(ids[kind_of(route)]))
    path = path.replace("{agent_id}", str(ids.get("agent", 0))).replace("{name}", "web")
    return API_PREFIX + path.replace("{window_id}", str(ids.get("window", 0)))


def test_every_id_route_has_a_known_kind() -> None:
    for route in ID_ROUTES:
        kind_of(route)


@pytest.mark.parametrize("route", ID_ROUTES, ids=route_id)
async def test_carol_gets_404_for_every_org_a_object(
    client: TestClient, world: World, org_a_ids: dict[str, int], route: Any
) -> None:
    response = await client.request(
        route.method,
        path_for(route, org_a_ids),
        json=VALID_BODIES.get((route.method, route.path)),
        headers=world.carol.headers,
    )
    assert response.status == 404, await response.text()
    assert "detail" in await response.json()


@pytest.mark.parametrize("route", [r for r in ID_ROUTES if r.method == "GET"], ids=route_id)
async def test_alice_reads_the_same_org_a_objects(
    client: TestClient, world: World, org_a_ids: dict[str, int], route: Any
) -> None:
    """The control: the ids carol was refused are real."""
    response = await client.get(path_for(route, org_a_ids), headers=world.alice.headers)
    assert response.status == 200, await response.text()


async def test_org_a_objects_survive_carols_attempts(
    client: TestClient, db: AsyncSession, world: World, org_a_ids: dict[str, int]
) -> None:
    for route in ID_ROUTES:
        if route.method in ("DELETE", "PATCH", "POST", "PUT"):
            await client.request(
                route.method,
                path_for(route, org_a_ids),
                json=VALID_BODIES.get((route.method, route.path)),
                headers=world.carol.headers,
            )
    response = await client.get(
        f"{API_PREFIX}/users/{world.bob.user_id}", headers=world.alice.headers
    )
    assert response.status == 200
    assert (await response.json())["full_name"] == "Bob"
    async with db.begin():
        key = await db.get(ApiKey, org_a_ids["api_key"])
        invitation = await db.get(Invitation, org_a_ids["invitation"])
        session = await db.get(AuthSession, org_a_ids["session"])
    assert key is not None and key.revoked_at is None
    async with db.begin():
        assert await db.get(SshKey, org_a_ids["ssh_key"]) is not None
    assert invitation is not None and invitation.revoked_at is None
    assert session is not None and session.revoked_at is None
    async with db.begin():  # read the row, not the object this session cached
        status = await db.scalar(
            select(Incident.status).where(Incident.id == org_a_ids["incident"])
        )
    assert status == "open"
    async with db.begin():
        monitor_name = await db.scalar(
            select(Monitor.name).where(Monitor.id == org_a_ids["monitor"])
        )
        window_left = await db.scalar(
            select(MaintenanceWindow.id).where(MaintenanceWindow.id == org_a_ids["window"])
        )
    assert monitor_name == "Org A homepage" and window_left is not None
    async with db.begin():
        account_name = await db.scalar(
            select(CloudAccount.name).where(CloudAccount.id == org_a_ids["cloud_account"])
        )
        resource_state = await db.scalar(
            select(Resource.state).where(Resource.id == org_a_ids["resource"])
        )
        budget_name = await db.scalar(select(Budget.name).where(Budget.id == org_a_ids["budget"]))
    assert account_name == "Org A production"
    assert resource_state == "running"
    assert budget_name == "Org A compute"
    async with db.begin():
        channel = await db.get(NotificationChannel, org_a_ids["channel"])
        rule = await db.get(NotificationRule, org_a_ids["rule"])
        line = await db.get(Notification, org_a_ids["notification"])
    assert channel is not None and channel.enabled and channel.name == "Org A pager"
    assert rule is not None and rule.name == "Org A route"
    assert line is not None and line.read_at is None
    async with db.begin():
        alert_rule = await db.get(AlertRule, org_a_ids["alert_rule"])
    assert alert_rule is not None and alert_rule.enabled and alert_rule.name == "Org A alert"
    async with db.begin():
        agent = await db.get(Agent, org_a_ids["agent"])
        override = await db.get(AlertOverride, (org_a_ids["alert_rule"], org_a_ids["agent"]))
    assert agent is not None and agent.name == "Org A host" and agent.token_hint == "****ab12"
    assert override is not None and override.threshold == 95.0
    async with db.begin():
        page = await db.get(StatusPage, org_a_ids["status_page"])
        notice = await db.get(Announcement, org_a_ids["announcement"])
        reader = await db.get(StatusSubscriber, org_a_ids["subscriber"])
    assert page is not None and page.slug == "org-a-clients" and page.token_hash is None
    assert notice is not None and notice.state == "investigating"
    assert reader is not None


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/users?per_page=200", "alice@example.com"),
        ("/users/invitations", "invitee@example.com"),
        ("/auth/api-keys", "deploys"),
        ("/audit-logs?per_page=100", "secret.of_a"),
        ("/audit-logs/export?format=json", "secret.of_a"),
        ("/organization", "Org A"),
        ("/incidents", "Org A is down"),
        ("/monitors", "Org A homepage"),
        ("/cloud-accounts", "Org A production"),
        ("/resources", "org-a-web"),
        ("/resources/summary", "Org A production"),
        ("/budgets", "Org A compute"),
        ("/budgets/status", "Org A compute"),
        ("/alert-rules", "Org A alert"),
        ("/notifications/channels", "Org A pager"),
        ("/notifications/rules", "Org A route"),
        ("/status-pages/clients", "Org A clients"),
        ("/status-pages/announcements", "Org A notice"),
        ("/status-pages/subscribers", "reader-a@example.com"),
        ("/notifications/deliveries", "Org A event"),
        ("/notifications", "Org A inbox line"),
        ("/notifications/unread-count", '"unread":1'),
    ],
)
async def test_carols_lists_hold_nothing_of_org_a(
    client: TestClient, world: World, org_a_ids: dict[str, int], path: str, needle: str
) -> None:
    response = await client.get(API_PREFIX + path, headers=world.carol.headers)
    assert response.status == 200, await response.text()
    assert needle not in await response.text()
    own = await client.get(API_PREFIX + path, headers=world.alice.headers)
    assert needle in await own.text()


ABOVE_VIEWER = [route for route in ROUTES if route.role.at_least(Role.admin)]


@pytest.mark.parametrize("route", ABOVE_VIEWER, ids=route_id)
async def test_bob_the_viewer_gets_403_above_his_role(
    client: TestClient, world: World, org_a_ids: dict[str, int], route: Any
) -> None:
    path = path_for(route, org_a_ids) if "{id}" in route.path else API_PREFIX + route.path
    response = await client.request(
        route.method,
        path,
        json=VALID_BODIES.get((route.method, route.path)),
        headers=world.bob.headers,
    )
    assert response.status == 403, await response.text()
    assert f"requires the {route.role.value} role" in (await response.json())["detail"]
