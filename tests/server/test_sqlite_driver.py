"""SQLite statements on the event loop (server/db/inline_sqlite.py): writers that meet a
lock wait for it off the loop, up to the busy timeout, and the server keeps answering."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import Column, Integer, MetaData, Table, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.context import SETTINGS
from server.db.base import UtcDateTime
from server.db.engine import create_engine, create_sessionmaker
from shared.api.common import API_PREFIX
from tests.conftest import World

# Holds the database's write lock until a line arrives on stdin: another process, as a
# worker or a second server would be.
HOLD_WRITE_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT)"))
    yield engine
    await engine.dispose()


@contextmanager
def hold_write_lock(path: Path) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        if holder.poll() is None:
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.wait(timeout=10)


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()


async def test_two_writers_on_two_connections_both_commit(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    first_holds_lock = asyncio.Event()
    first_may_commit = asyncio.Event()

    async def first() -> None:
        async with sessions() as db, db.begin():
            await db.execute(text("INSERT INTO note (text) VALUES ('first')"))
            first_holds_lock.set()
            await first_may_commit.wait()

    async def second() -> None:
        await first_holds_lock.wait()
        async with sessions() as db, db.begin():
            await db.execute(text("INSERT INTO note (text) VALUES ('second')"))

    writers = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_holds_lock.wait()
    await asyncio.sleep(0.2)
    # The second writer waits for the lock off the loop, so the first can go on and commit.
    assert not writers[1].done()
    first_may_commit.set()
    await asyncio.gather(*writers)
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT text FROM note ORDER BY id"))).all()
    assert [row.text for row in rows] == ["first", "second"]


async def test_a_write_gives_up_after_the_busy_timeout(engine: AsyncEngine, tmp_path: Path) -> None:
    with hold_write_lock(tmp_path / "driver.db"):
        async with engine.connect() as connection:
            await connection.execute(text("PRAGMA busy_timeout=200"))
            with pytest.raises(OperationalError, match="locked"):
                await connection.execute(text("INSERT INTO note (text) VALUES ('late')"))


async def test_reads_go_on_while_another_process_holds_the_write_lock(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO note (text) VALUES ('before')"))
    with hold_write_lock(tmp_path / "driver.db") as holder:
        sessions = create_sessionmaker(engine)

        async def write() -> None:
            async with sessions() as db, db.begin():
                await db.execute(text("INSERT INTO note (text) VALUES ('after')"))

        writer = asyncio.create_task(write())
        await asyncio.sleep(0.1)
        async with engine.connect() as connection:
            read = (await connection.execute(text("SELECT text FROM note"))).scalars().all()
        assert read == ["before"]
        assert not writer.done()
        release(holder)
        await writer
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT text FROM note ORDER BY id"))).all()
    assert [row.text for row in rows] == ["before", "after"]


@pytest.mark.sqlite_only(reason="holds the write lock of the server's SQLite file")
async def test_server_answers_a_reader_while_another_process_holds_the_write_lock(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    database = client.app[SETTINGS].data_dir / "upmetr.db"
    with hold_write_lock(database) as holder:
        creating = asyncio.create_task(
            client.post(
                f"{API_PREFIX}/monitors",
                json={"name": "Waits", "type": "http", "url": "https://example.com/"},
                headers=world.alice.headers,
            )
        )
        await asyncio.sleep(0.2)
        me = await client.get(f"{API_PREFIX}/auth/me", headers=world.bob.headers)
        assert me.status == 200
        assert not creating.done()  # still waiting for the lock, off the event loop
        release(holder)
        created = await creating
        assert created.status == 201, await created.text()


async def test_times_read_back_aware_in_utc_however_the_text_was_written(
    engine: AsyncEngine,
) -> None:
    """Times go in as SQLAlchemy writes them; migrations and hand-made rows wrote other
    shapes, and each reads back as the same aware UTC time."""
    table = Table("moment", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UtcDateTime))  # fmt: skip
    written = datetime(2026, 5, 1, 12, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    async with engine.begin() as connection:
        await connection.run_sync(table.metadata.create_all)
        await connection.execute(table.insert(), [{"id": 1, "at": written}])
        for row_id, text_at in [(2, "2026-05-01 10:30:00"), (3, "2026-05-01"),
                                (4, "2026-05-01T10:30:00Z"), (5, None)]:  # fmt: skip
            await connection.execute(
                text("INSERT INTO moment (id, at) VALUES (:id, :at)"), {"id": row_id, "at": text_at}
            )
    async with engine.connect() as connection:
        read = {row.id: row.at for row in await connection.execute(select(table.c.id, table.c.at))}
    assert read[1] == written and read[1].tzinfo is UTC
    assert read[2] == read[4] == datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    assert read[3] == datetime(2026, 5, 1, tzinfo=UTC)
    assert read[5] is None
    assert all(read[row_id].tzinfo is UTC for row_id in (2, 3, 4))
