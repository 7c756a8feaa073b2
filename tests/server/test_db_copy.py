"""Moving an install to another database (`upmetr db copy`) and the online backup of a
SQLite one (`upmetr db backup`). The copy's target here is a second SQLite file; the
PostgreSQL run of the suite copies into PostgreSQL the same way."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import build_app
from server.config import Settings
from server.costs.models import CostAccountDay, CostServiceDay
from server.db.copy import CopyRefused, backup_sqlite, copy_database
from server.db.engine import create_engine, create_sessionmaker
from tests import postgres
from tests.conftest import World, sign_in
from tests.server.test_budgets import add_account, add_costs

API = "/api/v1"


async def totals(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as db:
            accounts = (await db.execute(select(CostAccountDay).order_by("day"))).scalars()
            services = (await db.execute(select(CostServiceDay).order_by("day"))).scalars()
            return (
                [(a.account_id, a.day, a.amount_micros, a.daily_rows) for a in accounts],
                [(s.service, s.day, s.amount_micros, s.daily_rows) for s in services],
            )
    finally:
        await engine.dispose()


async def test_a_copied_install_serves_the_same_data_and_goes_on(
    client: TestClient, db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    monitor = await client.post(
        f"{API}/monitors",
        json={"name": "Shop", "type": "http", "url": "https://shop.example.com"},
        headers=world.alice.headers,
    )
    assert monitor.status == 201
    account = await add_account(db, world.org_a)
    day = date(2024, 5, 1)
    await add_costs(db, world.org_a, account, [(day, "EC2", "12.50"), (day, "S3", "1.25")])
    target = f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}"

    copied = await copy_database(settings.resolved_database_url, target)

    assert copied["user"] == 3 and copied["monitor"] == 1 and copied["cost_daily"] == 2
    assert "cost_account_day" not in copied  # rebuilt by the target's triggers
    assert await totals(target) == await totals(settings.resolved_database_url)
    moved = settings.model_copy(update={"database_url": target})
    async with TestClient(TestServer(build_app(moved), host="127.0.0.1")) as there:
        alice = await sign_in(there, world.alice)  # the password hash came along
        listed = await (await there.get(f"{API}/monitors", headers=alice.headers)).json()
        assert [m["name"] for m in listed["items"]] == ["Shop"]
        another = await there.post(
            f"{API}/monitors",
            json={"name": "Blog", "type": "http", "url": "https://blog.example.com"},
            headers=alice.headers,
        )
        assert another.status == 201  # new ids follow the copied ones
        assert (await another.json())["id"] > (await monitor.json())["id"]


async def test_a_target_that_holds_accounts_is_refused_and_left_as_it_was(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    target = f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}"
    await copy_database(settings.resolved_database_url, target)
    with pytest.raises(CopyRefused, match="already holds accounts"):
        await copy_database(settings.resolved_database_url, target)
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM user").fetchone() == (3,)


@pytest.mark.skipif(not postgres.enabled(), reason="needs PostgreSQL: runs in tox -e tests-pg")
async def test_a_sqlite_install_moves_to_postgresql(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    """What docs/deploy.md's move does: SQLite (made here from the test's database) into an
    empty PostgreSQL database, which then serves the same accounts and new rows."""
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'install.db'}"
    await copy_database(settings.resolved_database_url, sqlite)
    name = postgres.server().new_database()
    try:
        target = postgres.server().url(name)
        copied = await copy_database(sqlite, target)
        assert copied["user"] == 3
        moved = settings.model_copy(update={"database_url": target})
        async with TestClient(TestServer(build_app(moved), host="127.0.0.1")) as there:
            alice = await sign_in(there, world.alice)
            created = await there.post(
                f"{API}/monitors",
                json={"name": "Blog", "type": "http", "url": "https://blog.example.com"},
                headers=alice.headers,
            )
            assert created.status == 201, await created.text()  # the sequences go on
    finally:
        postgres.server().drop_database(name)


@pytest.mark.sqlite_only(reason="backs up the SQLite file itself; PostgreSQL uses pg_dump")
async def test_the_online_backup_is_a_whole_database(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    size = backup_sqlite(settings.resolved_database_url, backup)
    assert size == backup.stat().st_size > 0
    assert backup.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        emails = {row[0] for row in copy.execute("SELECT email FROM user")}
    assert emails == {"alice@example.com", "bob@example.com", "carol@example.com"}
    with pytest.raises(CopyRefused, match="exists already"):
        backup_sqlite(settings.resolved_database_url, backup)
