"""Status pages over the API: the global page and client pages, their tokens, the public
JSON built from rollups, incidents and maintenance, announcements, and the history backfill."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.db.base import utcnow
from server.incidents.models import Incident
from server.monitors.models import MaintenanceWindow, Monitor, MonitorRollup
from tests.conftest import World
from tests.server.api_calls import call
from tests.server.test_plans import superadmin_on

Client = TestClient  # type: ignore[type-arg]
PUBLIC = "/api/v1/public/status"


async def monitor(db: AsyncSession, org_id: int, name: str, status: str = "up") -> int:
    async with db.begin():
        row = Monitor(org_id=org_id, name=name, type="http", url="https://example.com/",
                      status=status, interval_seconds=60)  # fmt: skip
        db.add(row)
        await db.flush()
        return row.id


async def publish(client: Client, world: World, monitor_ids: list[int], **settings: Any) -> Any:
    status, page = await call(
        client, world.alice, "PUT", "/status-pages/global",
        {"enabled": True, "monitor_ids": monitor_ids, **settings},
    )  # fmt: skip
    assert status == 200, page
    return page


async def public(client: Client, path: str = "/org-a", **params: str) -> tuple[int, Any]:
    response = await client.get(PUBLIC + path, params=params)
    return response.status, await response.json()


def day_start(days_ago: int) -> datetime:
    return datetime.combine(utcnow().date() - timedelta(days=days_ago), time(), tzinfo=UTC)


async def add_rollup(
    db: AsyncSession, monitor_id: int, period: str, start: datetime, up: int, down: int = 0
) -> None:
    async with db.begin():
        db.add(MonitorRollup(monitor_id=monitor_id, period=period, bucket_start=start, up=up,
                             down=down, measured=up, avg_ms=120.0))  # fmt: skip


async def test_the_global_page_starts_disabled_and_shows_its_monitors_once_enabled(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "API")
    web = await monitor(db, world.org_a, "Web", status="down")
    status, page = await call(client, world.bob, "GET", "/status-pages/global")
    assert status == 200 and page["enabled"] is False and page["url"].endswith("/status/org-a")
    assert (await public(client))[0] == 404
    page = await publish(client, world, [web, api], title="Acme Status")
    assert page["monitor_ids"] == [web, api] and page["token"] is None
    status, shown = await public(client)
    assert status == 200, shown
    assert shown["title"] == "Acme Status" and shown["status"] == "down"
    assert [(m["name"], m["status"]) for m in shown["monitors"]] == [
        ("Web", "down"), ("API", "operational"),
    ]  # fmt: skip
    assert len(shown["monitors"][0]["days"]) == 90


async def test_another_organizations_monitor_is_refused_and_nothing_changes(
    client: Client, world: World, db: AsyncSession
) -> None:
    mine = await monitor(db, world.org_a, "Mine")
    theirs = await monitor(db, world.org_b, "Theirs")
    await publish(client, world, [mine], title="Before")
    status, body = await call(
        client, world.alice, "PUT", "/status-pages/global",
        {"enabled": True, "monitor_ids": [mine, theirs], "title": "After"},
    )  # fmt: skip
    assert status == 400 and "monitor_ids" in body["detail"]
    _, page = await call(client, world.alice, "GET", "/status-pages/global")
    assert (page["title"], page["monitor_ids"]) == ("Before", [mine])


async def test_a_viewer_cannot_change_a_page_and_a_plan_without_the_module_gets_403(
    client: Client, world: World, password_hash: str
) -> None:
    status, _ = await call(client, world.bob, "PUT", "/status-pages/global", {"enabled": True})
    assert status == 403
    owner = await superadmin_on(client, password_hash, "free")
    status, body = await call(client, owner, "GET", "/status-pages/global")
    assert status == 403 and "status_pages" in body["detail"]


async def test_a_token_page_needs_its_token_and_a_regenerated_one_stops_the_old_at_once(
    client: Client, world: World, db: AsyncSession
) -> None:
    await monitor(db, world.org_a, "API")
    page = await publish(client, world, [], require_token=True)
    token = page["token"]
    assert token and page["token_hint"] == f"****{token[-4:]}"
    _, again = await call(client, world.alice, "GET", "/status-pages/global")
    assert "token" not in again  # shown once
    assert (await public(client))[0] == 401
    assert (await public(client, token="wrong"))[0] == 401
    assert (await public(client, token=token))[0] == 200
    status, renewed = await call(
        client, world.alice, "POST", "/status-pages/global/regenerate-token"
    )
    assert status == 200 and renewed["token"] != token
    assert (await public(client, token=token))[0] == 401
    assert (await public(client, token=renewed["token"]))[0] == 200


async def test_client_pages_take_a_slug_from_the_name_unique_in_the_organization(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "API")
    status, page = await call(client, world.alice, "POST", "/status-pages/clients",
                              {"name": "Acme Café (EU)", "monitor_ids": [api]})  # fmt: skip
    assert status == 201, page
    assert page["slug"] == "acme-cafe-eu" and page["url"].endswith("/status/org-a/acme-cafe-eu")
    status, body = await call(client, world.alice, "POST", "/status-pages/clients",
                              {"name": "Other", "slug": "acme-cafe-eu"})  # fmt: skip
    assert status == 409, body
    status, body = await call(client, world.alice, "POST", "/status-pages/clients",
                              {"name": "Badge", "slug": "badge"})  # fmt: skip
    assert status == 400 and "reserved" in body["detail"]
    # Carol's organization may use the same slug.
    status, _ = await call(client, world.carol, "POST", "/status-pages/clients",
                           {"name": "Acme Café (EU)"})  # fmt: skip
    assert status == 201
    status, shown = await public(client, "/org-a/acme-cafe-eu")
    assert status == 200 and shown["slug"] == "acme-cafe-eu"
    assert [m["name"] for m in shown["monitors"]] == ["API"]
    path = f"/status-pages/clients/{page['id']}"
    status, changed = await call(client, world.alice, "PATCH", path, {"slug": "acme"})
    assert status == 200 and changed["slug"] == "acme"
    assert (await public(client, "/org-a/acme-cafe-eu"))[0] == 404
    status, _ = await call(client, world.alice, "DELETE", path)
    assert status == 204
    assert (await public(client, "/org-a/acme"))[0] == 404
    async with db.begin():
        actions = list(await db.scalars(
            select(AuditLog.action).where(AuditLog.org_id == world.org_a,
                                          AuditLog.resource_type == "status_page")
        ))  # fmt: skip
    assert actions.count("status_page.created") == 1 and "status_page.deleted" in actions


async def test_the_public_page_has_each_days_uptime_the_incidents_and_the_maintenance(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "API")
    await add_rollup(db, api, "day", day_start(2), up=90, down=10)
    await add_rollup(db, api, "day", day_start(1), up=100)
    async with db.begin():
        opened = utcnow() - timedelta(days=2)
        db.add(
            Incident(
                org_id=world.org_a,
                title="API is down",
                severity="critical",
                status="resolved",
                trigger_type="monitor_down",
                target_type="monitor",
                target_id=api,
                opened_at=opened,
                resolved_at=opened + timedelta(minutes=10),
            )
        )
        start = utcnow().replace(microsecond=0) + timedelta(days=1)
        db.add(MaintenanceWindow(monitor_id=api, starts_at=start, recurrence="FREQ=WEEKLY",
                                 duration_minutes=60, reason="Upgrades"))  # fmt: skip
    await publish(client, world, [api], history_days=30)
    _, shown = await public(client)
    (shown_api,) = shown["monitors"]
    days = shown_api["days"]
    assert len(days) == 30 and days[-1]["date"] == utcnow().date().isoformat()
    assert (days[-3]["uptime_pct"], days[-3]["downtime_seconds"], days[-3]["incidents"]) == (
        90.0, 600, 1,
    )  # fmt: skip
    assert days[-2]["uptime_pct"] == 100.0 and days[-4]["uptime_pct"] is None
    assert shown_api["uptime_pct"] == 95.0
    assert [i["title"] for i in shown["incidents"]] == ["API is down"]
    assert shown["incidents"][0]["monitor_name"] == "API"
    starts = [m["starts_at"] for m in shown["maintenance"]]
    assert len(starts) == 5 and all(m["reason"] == "Upgrades" for m in shown["maintenance"])
    assert len(set(m["uid"] for m in shown["maintenance"])) == 5


async def test_hidden_uptime_and_response_times_are_left_out_of_the_public_page(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "API")
    await add_rollup(db, api, "hour", utcnow().replace(minute=0, second=0, microsecond=0), up=5)
    await publish(client, world, [api])
    _, shown = await public(client)
    assert shown["monitors"][0]["avg_response_ms"] == 120.0
    await publish(client, world, [api], show_uptime=False, show_response_times=False)
    _, shown = await public(client)
    (hidden,) = shown["monitors"]
    assert (hidden["days"], hidden["uptime_pct"], hidden["avg_response_ms"]) == ([], None, None)


async def test_generate_history_rebuilds_missing_days_from_hourly_rollups_once(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "API")
    yesterday = day_start(1)
    await add_rollup(db, api, "hour", yesterday + timedelta(hours=1), up=50, down=10)
    await add_rollup(db, api, "hour", yesterday + timedelta(hours=2), up=60)
    await publish(client, world, [api])
    status, result = await call(
        client, world.alice, "POST", "/status-pages/global/generate-history"
    )
    assert status == 200 and result == {"monitors": 1, "days": 90, "rebuilt": 1}
    async with db.begin():
        day = await db.scalar(select(MonitorRollup).where(
            MonitorRollup.monitor_id == api, MonitorRollup.period == "day"))  # fmt: skip
        assert day is not None and (day.up, day.down, day.bucket_start) == (110, 10, yesterday)
    _, again = await call(client, world.alice, "POST", "/status-pages/global/generate-history")
    assert again["rebuilt"] == 0
    _, shown = await public(client)
    assert shown["monitors"][0]["days"][-2]["uptime_pct"] == round(100 * 110 / 120, 3)


async def test_announcements_move_through_their_states_with_a_timeline(
    client: Client, world: World
) -> None:
    await publish(client, world, [])
    status, made = await call(client, world.alice, "POST", "/status-pages/announcements",
                              {"title": "Slow logins", "body": "Looking into it"})  # fmt: skip
    assert status == 201 and (made["state"], made["page"]) == ("investigating", "global")
    path = f"/status-pages/announcements/{made['id']}"
    status, moved = await call(client, world.alice, "PATCH", path,
                               {"state": "identified", "body": "A bad deploy"})  # fmt: skip
    assert status == 200 and moved["resolved_at"] is None
    _, done = await call(client, world.alice, "PATCH", path, {"state": "resolved"})
    assert [(u["state"], u["body"]) for u in done["updates"]] == [
        ("investigating", "Looking into it"), ("identified", "A bad deploy"),
        ("resolved", "The state is now resolved."),
    ]  # fmt: skip
    assert done["resolved_at"] is not None and done["body"] == "A bad deploy"
    _, shown = await public(client)
    assert [a["title"] for a in shown["announcements"]] == ["Slow logins"]
    status, body = await call(client, world.alice, "POST", "/status-pages/announcements",
                              {"title": "x", "body": "y", "page": "nope"})  # fmt: skip
    assert status == 400 and "page" in body["detail"]
    _, listed = await call(
        client, world.bob, "GET", "/status-pages/announcements?status_page=global&state=resolved"
    )
    assert [a["id"] for a in listed["items"]] == [made["id"]]
    status, _ = await call(client, world.bob, "PATCH", path, {"state": "monitoring"})
    assert status == 403


async def test_a_monitor_deleted_leaves_the_pages_that_showed_it(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "API")
    await publish(client, world, [api])
    status, _ = await call(client, world.alice, "DELETE", f"/monitors/{api}")
    assert status == 204
    _, page = await call(client, world.alice, "GET", "/status-pages/global")
    assert page["monitor_ids"] == []


async def test_a_get_of_the_subscribe_path_is_a_405_that_offers_post_only(
    client: Client, world: World
) -> None:
    """`subscribe` is no client page's slug: the page route must not claim the path."""
    response = await client.get(f"{PUBLIC}/org-a/subscribe")
    assert response.status == 405 and response.headers["Allow"] == "POST"
    page = await client.get("/status/org-a/subscribe")
    assert page.status == 405 and page.headers["Allow"] == "POST"
