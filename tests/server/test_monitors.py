"""Monitors over the API: create per type, plan limits, roles, tenancy, pause, heartbeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.monitors.models import Monitor, MonitorRollup
from shared.api.common import API_PREFIX, Page
from shared.api.monitors import MonitorRead
from tests.builders import Person, add_member, create_org, create_user
from tests.conftest import World, sign_in

HTTP = {"name": "Homepage", "type": "http", "url": "https://example.com/"}


async def create(client: TestClient, person: Person, body: dict[str, Any]) -> Any:
    response = await client.post(f"{API_PREFIX}/monitors", json=body, headers=person.headers)
    return response.status, await response.json()


@pytest.mark.parametrize(
    "body",
    [
        HTTP,
        {
            "name": "Word",
            "type": "keyword",
            "url": "http://example.com",
            "keyword": "OK",
            "keyword_present": False,
        },
        {
            "name": "API",
            "type": "json",
            "url": "https://example.com/health",
            "json_path": "$.status",
            "expected_value": "ok",
            "headers": [{"name": "X-Token", "value": "abc"}],
        },
        {"name": "DB", "type": "tcp", "host": "db.internal", "port": 5432},
        {
            "name": "DNS",
            "type": "dns",
            "host": "example.com",
            "dns_record_type": "A",
            "dns_resolver": "1.1.1.1",
        },
    ],
    ids=["http", "keyword", "json", "tcp", "dns"],
)
async def test_alice_creates_a_monitor_of_each_type_pending_its_first_check(
    client: TestClient, db: AsyncSession, world: World, body: dict[str, Any]
) -> None:
    status, monitor = await create(client, world.alice, body)
    assert status == 201, monitor
    assert monitor["type"] == body["type"] and monitor["status"] == "pending"
    assert monitor["interval_seconds"] == 60 and monitor["uptime_24h"] is None
    async with db.begin():
        row = await db.get(Monitor, monitor["id"])
        assert row is not None and row.next_check_at is not None  # due at once
        assert row.org_id == world.org_a


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "type": "http"}, "url"),
        ({"name": "x", "type": "http", "url": "ftp://example.com"}, "url"),
        ({"name": "x", "type": "keyword", "url": "https://e.com"}, "keyword"),
        ({"name": "x", "type": "json", "url": "https://e.com"}, "json_path"),
        (
            {"name": "x", "type": "json", "url": "https://e.com", "json_path": "$.a"},
            "expected_value",
        ),
        ({"name": "x", "type": "tcp", "host": "db"}, "port"),
        ({"name": "x", "type": "tcp", "port": 22}, "host"),
        ({"name": "x", "type": "dns", "host": "e.com"}, "dns_record_type"),
        ({"name": "x", "type": "dns", "host": "bad host", "dns_record_type": "A"}, "host"),
        ({**HTTP, "timeout_seconds": 90, "interval_seconds": 60}, "timeout_seconds"),
        ({**HTTP, "headers": [{"name": "Bad Name", "value": "v"}]}, "headers"),
        ({**HTTP, "headers": [{"name": "X", "value": "a\r\nInjected: 1"}]}, "headers"),
        ({**HTTP, "interval_seconds": 5}, "interval_seconds"),
    ],
)
async def test_a_monitor_missing_what_its_type_needs_is_400_naming_the_field(
    client: TestClient, world: World, body: dict[str, Any], field: str
) -> None:
    status, payload = await create(client, world.alice, body)
    assert status == 400
    assert f"'{field}" in payload["detail"]


async def test_a_heartbeat_monitor_gets_a_ping_url_and_pings_stamp_it(
    client: TestClient, world: World
) -> None:
    status, monitor = await create(client, world.alice, {"name": "Backup", "type": "heartbeat"})
    assert status == 201
    url = monitor["heartbeat_url"]
    assert url and "/api/v1/heartbeat/hb_" in url
    token = url.rsplit("/", 1)[-1]
    assert monitor["last_ping_at"] is None
    response = await client.post(f"{API_PREFIX}/heartbeat/{token}")  # no auth
    assert response.status == 200
    assert (await response.json())["status"] == "success"
    after = await (
        await client.get(f"{API_PREFIX}/monitors/{monitor['id']}", headers=world.bob.headers)
    ).json()
    assert after["last_ping_at"] is not None
    failed = await client.get(f"{API_PREFIX}/heartbeat/{token}/fail")
    assert failed.status == 200 and (await failed.json())["status"] == "fail"


async def test_an_unknown_heartbeat_token_is_404(client: TestClient, world: World) -> None:
    for token in ("hb_nope", "x" * 500, "anything"):
        response = await client.get(f"{API_PREFIX}/heartbeat/{token}")
        assert response.status == 404
        assert "detail" in await response.json()


async def test_a_paused_heartbeat_monitor_still_acknowledges_pings(
    client: TestClient, world: World
) -> None:
    _, monitor = await create(
        client, world.alice, {"name": "Cron", "type": "heartbeat", "paused": True}
    )
    assert monitor["status"] == "paused"
    token = monitor["heartbeat_url"].rsplit("/", 1)[-1]
    assert (await client.post(f"{API_PREFIX}/heartbeat/{token}")).status == 200


async def test_bob_the_viewer_cannot_create_a_monitor(client: TestClient, world: World) -> None:
    status, payload = await create(client, world.bob, HTTP)
    assert status == 403
    assert "admin" in payload["detail"]


async def test_carol_gets_404_on_org_a_monitors_and_sees_none(
    client: TestClient, world: World
) -> None:
    _, monitor = await create(client, world.alice, HTTP)
    base = f"{API_PREFIX}/monitors/{monitor['id']}"
    for method, path in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/pause"),
        ("GET", "/metrics"),
        ("GET", "/checks"),
        ("GET", "/maintenance"),
    ]:
        response = await client.request(
            method,
            base + path,
            json={"name": "mine"} if method == "PATCH" else None,
            headers=world.carol.headers,
        )
        assert response.status == 404, (method, path)
    listed = await (await client.get(f"{API_PREFIX}/monitors", headers=world.carol.headers)).json()
    assert listed["total"] == 0


async def test_the_free_plan_limits_the_monitor_count_naming_the_limit(
    client: TestClient, db: AsyncSession, world: World, password_hash: str
) -> None:
    async with db.begin():
        org = await create_org(db, "Free Org", plan="free")
        user = await create_user(db, "dora@example.com", password_hash=password_hash)
        await add_member(db, user, org, "superadmin")
    dora = await sign_in(
        client, Person(email=user.email, user_id=user.id, org_id=org.id, role="superadmin")
    )
    created = 0
    while True:
        status, payload = await create(client, dora, {**HTTP, "interval_seconds": 300})
        if status != 201:
            break
        created += 1
        assert created < 1000
    assert status == 403
    assert "monitors" in payload["detail"] and "Free" in payload["detail"]
    status, payload = await create(client, world.alice, HTTP)  # enterprise: unaffected
    assert status == 201


async def test_the_free_plan_minimum_interval_is_403_naming_the_limit(
    client: TestClient, db: AsyncSession, password_hash: str, world: World
) -> None:
    async with db.begin():
        org = await create_org(db, "Free Org", plan="free")
        user = await create_user(db, "dora@example.com", password_hash=password_hash)
        await add_member(db, user, org, "superadmin")
    dora = await sign_in(
        client, Person(email=user.email, user_id=user.id, org_id=org.id, role="superadmin")
    )
    status, payload = await create(client, dora, {**HTTP, "interval_seconds": 30})
    assert status == 403
    assert "min check interval seconds" in payload["detail"]
    status, monitor = await create(client, dora, {**HTTP, "interval_seconds": 300})
    assert status == 201
    response = await client.patch(
        f"{API_PREFIX}/monitors/{monitor['id']}",
        json={"interval_seconds": 30},
        headers=dora.headers,
    )
    assert response.status == 403


async def test_a_monitor_created_without_an_interval_gets_one_its_plan_allows(
    client: TestClient, db: AsyncSession, password_hash: str, world: World
) -> None:
    async with db.begin():
        org = await create_org(db, "Free Org", plan="free")
        user = await create_user(db, "dora@example.com", password_hash=password_hash)
        await add_member(db, user, org, "superadmin")
    dora = await sign_in(
        client, Person(email=user.email, user_id=user.id, org_id=org.id, role="superadmin")
    )
    status, monitor = await create(client, dora, HTTP)
    assert status == 201, monitor
    assert monitor["interval_seconds"] == 300  # the Free plan's minimum, not the 60 s default
    status, monitor = await create(client, world.alice, HTTP)  # enterprise: the default
    assert (status, monitor["interval_seconds"]) == (201, 60)


async def test_a_monitor_created_without_an_interval_uses_the_organizations_default(
    client: TestClient, world: World
) -> None:
    response = await client.patch(
        f"{API_PREFIX}/settings",
        json={"default_check_interval_seconds": 120},
        headers=world.alice.headers,
    )
    assert response.status == 200, await response.text()
    status, monitor = await create(client, world.alice, HTTP)
    assert (status, monitor["interval_seconds"]) == (201, 120)
    status, monitor = await create(client, world.alice, {**HTTP, "interval_seconds": 30})
    assert (status, monitor["interval_seconds"]) == (201, 30)


async def test_update_changes_only_what_is_given_and_is_audited(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    _, monitor = await create(client, world.alice, {**HTTP, "tags": ["web"]})
    url = f"{API_PREFIX}/monitors/{monitor['id']}"
    response = await client.patch(
        url, json={"name": "Shop", "tags": None}, headers=world.alice.headers
    )
    assert response.status == 200, await response.text()
    changed = await response.json()
    assert changed["name"] == "Shop" and changed["tags"] == []
    assert changed["url"] == HTTP["url"]
    bad = await client.patch(url, json={"url": None}, headers=world.alice.headers)
    assert bad.status == 400 and "'url'" in (await bad.json())["detail"]
    bad = await client.patch(url, json={"name": None}, headers=world.alice.headers)
    assert bad.status == 400 and "'name'" in (await bad.json())["detail"]
    async with db.begin():
        actions = list(
            await db.scalars(
                select(AuditLog.action).where(
                    AuditLog.resource_type == "monitor", AuditLog.resource_id == str(monitor["id"])
                )
            )
        )
    assert actions.count("monitor.created") == 1 and actions.count("monitor.updated") == 1


async def test_pause_and_resume_are_audited_and_resume_is_due_at_once(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    _, monitor = await create(client, world.alice, HTTP)
    url = f"{API_PREFIX}/monitors/{monitor['id']}"
    paused = await (await client.post(url + "/pause", headers=world.alice.headers)).json()
    assert paused["status"] == "paused" and paused["paused"] is True
    again = await client.post(url + "/pause", headers=world.alice.headers)
    assert again.status == 200
    resumed = await (await client.post(url + "/resume", headers=world.alice.headers)).json()
    assert resumed["status"] == "pending" and resumed["paused"] is False
    async with db.begin():
        actions = list(
            await db.scalars(
                select(AuditLog.action).where(
                    AuditLog.action.in_(["monitor.paused", "monitor.resumed"])
                )
            )
        )
        row = await db.get(Monitor, monitor["id"])
        assert row is not None and row.next_check_at is not None
    assert sorted(actions) == ["monitor.paused", "monitor.resumed"]


async def test_delete_removes_the_monitor(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    _, monitor = await create(client, world.alice, HTTP)
    url = f"{API_PREFIX}/monitors/{monitor['id']}"
    assert (await client.delete(url, headers=world.bob.headers)).status == 403
    assert (await client.delete(url, headers=world.alice.headers)).status == 204
    assert (await client.get(url, headers=world.alice.headers)).status == 404
    async with db.begin():
        assert await db.scalar(select(AuditLog.id).where(AuditLog.action == "monitor.deleted"))


async def test_the_list_filters_by_type_tag_and_text(client: TestClient, world: World) -> None:
    await create(client, world.alice, {**HTTP, "tags": ["prod", "web"]})
    await create(client, world.alice, {"name": "DB", "type": "tcp", "host": "db", "port": 5432})

    async def names(query: str) -> list[str]:
        response = await client.get(f"{API_PREFIX}/monitors?{query}", headers=world.bob.headers)
        assert response.status == 200, await response.text()
        return [m["name"] for m in (await response.json())["items"]]

    assert await names("") == ["DB", "Homepage"]
    assert await names("type=tcp") == ["DB"]
    assert await names("tag=prod") == ["Homepage"]
    assert await names("tag=pro") == []
    assert await names("q=example.com") == ["Homepage"]
    assert await names("q=db") == ["DB"]  # the same filters with other values
    assert await names("type=http&q=db") == []
    assert await names("sort=-name") == ["Homepage", "DB"]
    # A page past the last is empty and still says how many there are.
    response = await client.get(
        f"{API_PREFIX}/monitors?per_page=1&page=5", headers=world.bob.headers
    )
    assert (await response.json())["items"] == []
    assert (await response.json())["total"] == 2


async def test_each_listed_monitor_reads_as_its_own_page_shows_it(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    """The list writes its rows without a validation pass (`Trusted`): its JSON must be what
    the model makes of it, and each item what GET /monitors/{id} shows, for every type and
    state a monitor can be in (headers, a heartbeat URL, paused, in maintenance, uptimes)."""
    bodies = [
        {**HTTP, "tags": ["prod"], "headers": [{"name": "X-Token", "value": "abc"}]},
        {"name": "DB", "type": "tcp", "host": "db.internal", "port": 5432},
        {"name": "DNS", "type": "dns", "host": "example.com", "dns_record_type": "MX"},
        {"name": "Cron", "type": "heartbeat"},
        {"name": "Paused", "type": "tcp", "host": "old", "port": 22},
        {"name": "Window", "type": "tcp", "host": "maint", "port": 80},
    ]
    made = {}
    for body in bodies:
        status, monitor = await create(client, world.alice, body)
        assert status == 201, monitor
        made[monitor["name"]] = monitor["id"]
    headers = world.alice.headers
    paused = await client.post(f"{API_PREFIX}/monitors/{made['Paused']}/pause", headers=headers)
    assert paused.status == 200, await paused.text()
    now = datetime.now(UTC)
    window = await client.post(
        f"{API_PREFIX}/monitors/{made['Window']}/maintenance",
        json={"starts_at": (now - timedelta(minutes=5)).isoformat(),
              "ends_at": (now + timedelta(hours=1)).isoformat()},
        headers=headers,
    )  # fmt: skip
    assert window.status == 201, await window.text()
    hour = now.replace(minute=0, second=0, microsecond=0)
    db.add(MonitorRollup(monitor_id=made["Homepage"], period="hour", bucket_start=hour, up=9,
                         down=1, degraded=0, maintenance=0, unknown=0))  # fmt: skip
    await db.commit()

    response = await client.get(f"{API_PREFIX}/monitors?per_page=100", headers=headers)
    assert response.status == 200, await response.text()
    listed = await response.json()
    assert Page[MonitorRead].model_validate(listed).model_dump(mode="json") == listed
    assert listed["total"] == len(bodies) and len(listed["items"]) == len(bodies)
    for item in listed["items"]:
        own = await client.get(f"{API_PREFIX}/monitors/{item['id']}", headers=headers)
        assert item == await own.json()
    shown = {item["name"]: item for item in listed["items"]}
    assert shown["Homepage"]["uptime_24h"] == 90.0
    assert shown["Homepage"]["headers"] == [{"name": "X-Token", "value": "abc"}]
    assert shown["Cron"]["heartbeat_url"].startswith("http")
    assert shown["Paused"]["status"] == "paused"
    assert shown["Window"]["status"] == "maintenance"
    assert all(item["created_at"].endswith("Z") for item in listed["items"])
