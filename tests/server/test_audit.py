"""Audit logs: org-scoped reading, filters, summary, streamed export, append-only storage."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import queries
from server.audit.models import AuditLog
from shared.api.audit import AuditFilter
from tests.conftest import World

API = "/api/v1/audit-logs"
NOW = datetime.now(UTC)


async def add_entries(db: AsyncSession, *entries: dict[str, Any]) -> list[int]:
    """Insert entries straight into the log; returns their ids in order."""
    ids = []
    async with db.begin():
        for entry in entries:
            row = {"action": "thing.done", "status": "success", "created_at": NOW, **entry}
            result = await db.execute(insert(AuditLog).values(**row).returning(AuditLog.id))
            ids.append(result.scalar_one())
    return ids


async def add_many(db: AsyncSession, org_id: int, count: int, **values: Any) -> None:
    rows = [
        {"org_id": org_id, "action": "bulk.done", "status": "success", "detail": f"n{n}", **values}
        for n in range(count)
    ]
    async with db.begin():
        await db.execute(insert(AuditLog), rows)


async def get_json(client: TestClient, url: str, headers: dict[str, str]) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


# Reading


async def test_superadmin_lists_own_org_entries_newest_first(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    older, newer = await add_entries(
        db,
        {"org_id": world.org_a, "action": "old.thing", "created_at": NOW - timedelta(hours=2)},
        {"org_id": world.org_a, "action": "new.thing", "created_at": NOW - timedelta(hours=1)},
    )
    page = await get_json(client, f"{API}?action=old.thing", world.alice.headers)
    assert [item["id"] for item in page["items"]] == [older]
    page = await get_json(client, API, world.alice.headers)
    ids = [item["id"] for item in page["items"]]
    assert ids.index(newer) < ids.index(older)
    assert page["page"] == 1 and page["per_page"] == 50 and page["total"] == len(ids)
    first = page["items"][ids.index(newer)]
    assert set(first) >= {
        "id",
        "user_email",
        "action",
        "resource_type",
        "resource_id",
        "ip",
        "user_agent",
        "status",
        "detail",
        "created_at",
    }
    assert first["created_at"].endswith("Z")
    assert "org_id" not in first


async def test_entries_of_another_org_never_show(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    (theirs,) = await add_entries(db, {"org_id": world.org_b, "action": "secret.of_b"})
    page = await get_json(client, f"{API}?per_page=100", world.alice.headers)
    assert theirs not in [item["id"] for item in page["items"]]
    assert all(item["action"] != "secret.of_b" for item in page["items"])
    response = await client.get(f"{API}/{theirs}", headers=world.alice.headers)
    assert response.status == 404
    assert "detail" in await response.json()
    export = await client.get(f"{API}/export?format=json", headers=world.alice.headers)
    assert all(item["action"] != "secret.of_b" for item in await export.json())
    mine = await get_json(client, f"{API}/{theirs}", world.carol.headers)
    assert mine["action"] == "secret.of_b"


async def test_account_entries_show_in_the_orgs_of_that_member_only(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    bobs, strangers = await add_entries(
        db,
        {"org_id": None, "user_id": world.bob.user_id, "action": "auth.login", "status": "failed"},
        {"org_id": None, "user_id": None, "action": "auth.login", "status": "failed"},
    )
    seen_by_alice = await get_json(client, f"{API}?per_page=100", world.alice.headers)
    assert bobs in [item["id"] for item in seen_by_alice["items"]]
    assert strangers not in [item["id"] for item in seen_by_alice["items"]]
    seen_by_carol = await get_json(client, f"{API}?per_page=100", world.carol.headers)
    assert {bobs, strangers}.isdisjoint(item["id"] for item in seen_by_carol["items"])
    assert (await client.get(f"{API}/{bobs}", headers=world.carol.headers)).status == 404


async def test_one_entry_by_id(client: TestClient, db: AsyncSession, world: World) -> None:
    (entry,) = await add_entries(
        db,
        {
            "org_id": world.org_a,
            "user_id": world.alice.user_id,
            "user_email": world.alice.email,
            "action": "monitor.created",
            "resource_type": "monitor",
            "resource_id": "7",
            "ip": "127.0.0.1",
            "detail": "Homepage",
        },
    )
    body = await get_json(client, f"{API}/{entry}", world.alice.headers)
    assert body["id"] == entry
    assert body["action"] == "monitor.created"
    assert body["resource_id"] == "7"
    assert body["user_email"] == world.alice.email
    missing = await client.get(f"{API}/{entry + 10_000}", headers=world.alice.headers)
    assert missing.status == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=user.created", {"created"}),
        ("status=failed", {"failed"}),
        ("resource_type=api_key", {"key"}),
        ("user_id={bob}", {"by_bob"}),
        ("from={hour_ago}", {"recent", "created", "failed", "key", "by_bob"}),
        ("to={hour_ago}", {"old"}),
        ("from={two_days_ago}&to={hour_ago}&status=success", {"old"}),
        ("action=user.created&status=failed", set()),
    ],
)
async def test_filters_narrow_the_list(
    client: TestClient, db: AsyncSession, world: World, query: str, expected: set[str]
) -> None:
    org = world.org_a
    await add_entries(
        db,
        {"org_id": org, "detail": "old", "created_at": NOW - timedelta(days=1)},
        {"org_id": org, "detail": "recent"},
        {"org_id": org, "detail": "created", "action": "user.created"},
        {"org_id": org, "detail": "failed", "action": "auth.login", "status": "failed"},
        {"org_id": org, "detail": "key", "resource_type": "api_key"},
        {"org_id": org, "detail": "by_bob", "user_id": world.bob.user_id},
    )
    filters = query.format(
        bob=world.bob.user_id,
        hour_ago=_iso(NOW - timedelta(hours=1)),
        two_days_ago=_iso(NOW - timedelta(days=2)),
    )
    page = await get_json(client, f"{API}?per_page=100&{filters}", world.alice.headers)
    seeded = {"old", "recent", "created", "failed", "key", "by_bob"}
    assert {item["detail"] for item in page["items"]} & seeded == expected
    export_url = f"{API}/export?format=json&{filters}"
    export = await get_json(client, export_url, world.alice.headers)
    assert {item["detail"] for item in export} & seeded == expected


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_a_time_without_zone_is_read_as_utc(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await add_entries(db, {"org_id": world.org_a, "detail": "then", "created_at": NOW})
    naive = (NOW - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    page = await get_json(client, f"{API}?from={naive}", world.alice.headers)
    assert "then" in {item["detail"] for item in page["items"]}


async def test_pages_hold_25_50_or_100_entries(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await add_many(db, world.org_a, 60)
    page = await get_json(client, f"{API}?action=bulk.done&per_page=25&page=3", world.alice.headers)
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (60, 3, 25, 10)
    for bad in (
        "per_page=30",
        "per_page=200",
        "page=0",
        "status=maybe",
        "user_id=abc",
        "from=soon",
    ):
        response = await client.get(f"{API}?{bad}", headers=world.alice.headers)
        assert response.status == 400, bad
        assert bad.split("=")[0] in (await response.json())["detail"], bad


async def test_an_unknown_filter_is_refused(client: TestClient, world: World) -> None:
    response = await client.get(f"{API}?colour=red", headers=world.alice.headers)
    assert response.status == 400
    assert "colour" in (await response.json())["detail"]


async def test_a_user_id_filter_beyond_64_bits_is_a_400(client: TestClient, world: World) -> None:
    """The document bounds every integer to 64 bits, and the server says so rather than
    matching nothing."""
    response = await client.get(f"{API}?user_id=99999999999999999999", headers=world.alice.headers)
    assert response.status == 400
    assert (await response.json())["detail"] == "query field 'user_id': integer out of range"


async def test_viewer_cannot_read_audit_logs(client: TestClient, world: World) -> None:
    for path in ("", "/summary", "/export", "/1"):
        response = await client.get(API + path, headers=world.bob.headers)
        assert response.status == 403, path
        assert "superadmin" in (await response.json())["detail"]


async def test_audit_logs_need_a_token(client: TestClient) -> None:
    for path in ("", "/summary", "/export", "/1"):
        response = await client.get(API + path)
        assert response.status == 401, path


# Summary


async def test_summary_counts_entries_today_and_logins_of_a_day(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    before = await get_json(client, f"{API}/summary", world.carol.headers)
    org = world.org_b
    await add_entries(
        db,
        {"org_id": org, "action": "auth.login", "status": "success"},
        {"org_id": org, "action": "auth.login", "status": "failed"},
        {"org_id": org, "action": "auth.login", "status": "failed"},
        {"org_id": org, "action": "auth.login", "created_at": NOW - timedelta(hours=30)},
        {
            "org_id": org,
            "action": "auth.login",
            "status": "failed",
            "created_at": NOW - timedelta(days=3),
        },
        {"org_id": org, "action": "monitor.created", "created_at": NOW - timedelta(days=2)},
        {"org_id": world.org_a, "action": "auth.login", "status": "failed"},
    )
    after = await get_json(client, f"{API}/summary", world.carol.headers)
    assert set(after) == {"total", "today", "logins_24h", "failed_logins_24h"}
    assert after["total"] - before["total"] == 6
    assert after["today"] - before["today"] == 3
    assert after["logins_24h"] - before["logins_24h"] == 3
    assert after["failed_logins_24h"] - before["failed_logins_24h"] == 2


async def test_summary_today_starts_at_midnight_utc(db: AsyncSession, world: World) -> None:
    noon = NOW.replace(hour=12, minute=0, second=0, microsecond=0)
    await add_entries(
        db,
        {"org_id": 999, "created_at": noon - timedelta(hours=11)},
        {"org_id": 999, "created_at": noon - timedelta(hours=13)},
    )
    counts = await queries.summary(db, 999, now=noon)
    assert (counts.total, counts.today) == (2, 1)


async def test_failed_logins_show_in_the_summary(client: TestClient, world: World) -> None:
    before = await get_json(client, f"{API}/summary", world.alice.headers)
    response = await client.post(
        "/api/v1/auth/login", json={"email": world.bob.email, "password": "wrong-password"}
    )
    assert response.status == 401
    after = await get_json(client, f"{API}/summary", world.alice.headers)
    assert after["failed_logins_24h"] == before["failed_logins_24h"] + 1
    assert after["logins_24h"] == before["logins_24h"] + 1


# Export


async def test_export_csv_streams_every_entry_under_a_header_row(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await add_many(db, world.org_a, 1234)
    response = await client.get(
        f"{API}/export?format=csv&action=bulk.done", headers=world.alice.headers
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Transfer-Encoding"] == "chunked"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and 'filename="audit-log-' in disposition
    assert disposition.endswith('.csv"')
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-ID"):
        assert name in response.headers, name
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][:5] == ["id", "created_at", "user_id", "user_email", "action"]
    body = rows[1:]
    assert len(body) == 1234
    ids = [int(row[0]) for row in body]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 1234
    assert {row[4] for row in body} == {"bulk.done"}


async def test_export_json_is_one_array_with_the_list_shape(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await add_many(db, world.org_a, 1001, resource_type="zone")
    response = await client.get(
        f"{API}/export?format=json&resource_type=zone", headers=world.alice.headers
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Content-Disposition"].endswith('.json"')
    entries = await response.json()
    assert len(entries) == 1001
    assert entries[0]["resource_type"] == "zone" and entries[0]["created_at"].endswith("Z")
    empty = await client.get(
        f"{API}/export?format=json&action=none.such", headers=world.alice.headers
    )
    assert await empty.json() == []


async def test_export_defaults_to_csv_and_refuses_other_formats(
    client: TestClient, world: World
) -> None:
    response = await client.get(f"{API}/export", headers=world.alice.headers)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    response = await client.get(f"{API}/export?format=xlsx", headers=world.alice.headers)
    assert response.status == 400
    assert "format" in (await response.json())["detail"]


async def test_export_reads_the_log_in_keyset_batches(db: AsyncSession) -> None:
    await add_many(db, 4242, 7)
    sizes = []
    seen: list[int] = []
    async for batch in queries.batches(db, 4242, AuditFilter(), size=3):
        sizes.append(len(batch))
        seen += [entry.id for entry in batch]
    assert sizes == [3, 3, 1]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 7


async def test_export_neutralises_spreadsheet_formulas(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    dangerous = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd"]
    await add_entries(
        db,
        *[{"org_id": world.org_a, "action": "csv.test", "detail": value} for value in dangerous],
        {"org_id": world.org_a, "action": "csv.test", "detail": 'plain, with "quotes"\nand lines'},
        {"org_id": world.org_a, "action": "csv.test", "user_email": "=cmd@example.com"},
    )
    response = await client.get(f"{API}/export?action=csv.test", headers=world.alice.headers)
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    details = {row["detail"] for row in rows}
    assert details >= {"'" + value for value in dangerous}
    assert 'plain, with "quotes"\nand lines' in details
    assert "'=cmd@example.com" in {row["user_email"] for row in rows}


async def test_export_is_itself_audited(client: TestClient, db: AsyncSession, world: World) -> None:
    response = await client.get(
        f"{API}/export?format=json&status=failed", headers=world.alice.headers
    )
    assert response.status == 200
    await response.read()
    entries = await get_json(client, f"{API}?action=audit_log.exported", world.alice.headers)
    (entry,) = entries["items"]
    assert entry["user_id"] == world.alice.user_id
    assert entry["user_email"] == world.alice.email
    assert entry["status"] == "success"
    assert "format=json" in entry["detail"] and "status=failed" in entry["detail"]


# Storage


async def test_audit_entries_cannot_be_updated_or_deleted(db: AsyncSession, world: World) -> None:
    (entry,) = await add_entries(db, {"org_id": world.org_a, "action": "kept.forever"})
    for statement in (
        "UPDATE audit_log SET action = 'rewritten' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.begin():
                await db.execute(text(statement), {"id": entry})
    action = await db.scalar(select(AuditLog.action).where(AuditLog.id == entry))
    assert action == "kept.forever"
    assert await db.scalar(select(func.count()).select_from(AuditLog)) >= 1
