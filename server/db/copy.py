"""Moving an install to another database, and backing up a SQLite one while it runs.

`copy_database` (`upmetr db copy --to URL`) migrates the target, refuses one that holds
accounts already, and copies every table in foreign-key order in batches, all in one
transaction of the target's, so a copy that fails leaves it as it was. Tables kept by
triggers (the cost totals) are left to the target's triggers, which build them from the
rows as they arrive, as the source's did; on PostgreSQL each id sequence then starts after
the highest id copied. The server should be stopped while it copies (a copy taken while it
writes may miss what it wrote meanwhile), and the target's server keeps the same data
directory: secrets in the database are encrypted with its keys.

`backup_sqlite` (`upmetr db backup FILE`) uses SQLite's online backup, which copies a
consistent database while the server keeps running.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Integer, Table, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from server.data_dir import sqlite_path
from server.db import models
from server.db.engine import create_engine
from server.db.migrate import upgrade

BATCH = 2000


class CopyRefused(Exception):
    """The copy cannot start; the message says why."""


async def copy_database(
    source_url: str, target_url: str, *, progress: Callable[[str, int], None] = lambda *_: None
) -> dict[str, int]:
    """Copy every row of `source_url` into `target_url` (migrated first); rows per table."""
    if source_url == target_url:
        raise CopyRefused("the target is the source")
    await asyncio.to_thread(upgrade, target_url)  # Alembic runs a loop of its own
    tables = [t for t in models.Base.metadata.sorted_tables if not t.info.get("kept_by_triggers")]
    source, target = create_engine(source_url), create_engine(target_url)
    copied: dict[str, int] = {}
    try:
        # One transaction: a copy that fails leaves the target as it was.
        async with target.begin() as writing, source.connect() as reading:
            users = await writing.scalar(select(func.count()).select_from(models.User))
            if users:
                raise CopyRefused("the target already holds accounts: copy into an empty database")
            # What the migrations seeded (the plans) comes from the source with its ids.
            for table in reversed(tables):
                await writing.execute(delete(table))
            for table in tables:
                copied[table.name] = await _copy_table(reading, writing, table)
                progress(table.name, copied[table.name])
            if writing.dialect.name == "postgresql":
                for table in tables:
                    await _restart_sequence(writing, table)
    finally:
        await source.dispose()
        await target.dispose()
    return copied


async def _copy_table(reading: AsyncConnection, writing: AsyncConnection, table: Table) -> int:
    count = 0
    result = await reading.stream(select(table).execution_options(yield_per=BATCH))
    async for rows in result.partitions(BATCH):
        await writing.execute(insert(table), [dict(row._mapping) for row in rows])
        count += len(rows)
    return count


async def _restart_sequence(connection: AsyncConnection, table: Table) -> None:
    """Start the id sequence of `table` after its highest id (rows came with their ids)."""
    key = list(table.primary_key.columns)
    if len(key) != 1 or not isinstance(key[0].type, Integer) or not key[0].autoincrement:
        return
    column = key[0].name
    sequence = await connection.scalar(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": f'"{table.name}"', "column": column},
    )
    if sequence is None:
        return
    await connection.execute(
        text(
            f'SELECT setval(:sequence, COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) '  # noqa: S608 - names from the metadata
            f'FROM "{table.name}"'
        ),
        {"sequence": sequence},
    )


def backup_sqlite(database_url: str, to: Path) -> int:
    """Copy the SQLite database of `database_url` to `to` (0600), consistent while the
    server writes; its size in bytes."""
    database = sqlite_path(database_url)
    if database is None:
        raise CopyRefused("only a SQLite database backs up this way; use pg_dump for PostgreSQL")
    if not database.exists():
        raise CopyRefused(f"no database at {database}")
    if to.exists():
        raise CopyRefused(f"{to} exists already")
    to.touch(mode=0o600)
    with sqlite3.connect(database) as source, sqlite3.connect(to) as copy:
        source.backup(copy)
    return to.stat().st_size
