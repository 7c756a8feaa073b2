"""Seeding a benchmark's data directory, and the small socket helpers the benchmarks share.

`seed()` migrates a fresh database and writes one Enterprise organization, a user
(EMAIL / PASSWORD), N http monitors and 30 days of hour and day rollups per monitor,
straight into the database: much faster than through the API, and the same rows.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EMAIL = "bench@example.com"
PASSWORD = "Bench-Passw0rd!"
# Cheap argon2 for the one sign-in; the hash carries its parameters.
ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 1024, "argon2_parallelism": 1}
ROLLUP_DAYS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


def database_url(data_dir: str) -> str:
    return f"sqlite+aiosqlite:///{Path(data_dir) / 'upmetr.db'}"


def seed(
    data_dir: str, target_url: str, monitors: int, interval: int, overdue: bool,
    *, url: str | None = None,
) -> int:  # fmt: skip
    """Migrate and seed the data directory's SQLite file, or the database at `url`;
    returns the id of the first monitor."""
    from server.db.migrate import upgrade

    url = url or database_url(data_dir)
    upgrade(url)
    first_id = asyncio.run(_seed(url, target_url, monitors, interval, overdue))
    checkpoint(url)
    return first_id


def checkpoint(url: str) -> None:
    """Fold a seeded SQLite file's write-ahead log into it, so the server starts clean."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def seed_org(sessions: Any) -> int:
    """The benchmark's Enterprise organization and its superadmin (EMAIL / PASSWORD)."""
    from argon2 import PasswordHasher

    from tests.builders import add_member, create_org, create_user

    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    async with sessions() as db, db.begin():
        org = await create_org(db, "Bench", plan="enterprise")
        user = await create_user(db, EMAIL, password_hash=hasher.hash(PASSWORD))
        await add_member(db, user, org, "superadmin")
        return int(org.id)


async def _seed(url: str, target_url: str, monitors: int, interval: int, overdue: bool) -> int:
    from sqlalchemy import func, insert, select

    from server.db.base import Base
    from server.db.engine import create_engine, create_sessionmaker

    monitor = Base.metadata.tables["monitor"]
    rollup = Base.metadata.tables["monitor_rollup"]
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    org_id = await seed_org(sessions)

    now = datetime.now(UTC)
    next_check_at = now - timedelta(days=1) if overdue else None
    async with sessions() as db, db.begin():
        for start in range(0, monitors, 5000):
            rows = [
                {
                    "org_id": org_id,
                    "name": f"bench {index}",
                    "type": "http",
                    "url": f"{target_url}?m={index}",
                    "interval_seconds": interval,
                    "timeout_seconds": 10,
                    "next_check_at": next_check_at,
                }
                for index in range(start, min(start + 5000, monitors))
            ]
            await db.execute(insert(monitor), rows)
        first_id = int(await db.scalar(select(func.min(monitor.c.id))) or 0)
        last_id = int(await db.scalar(select(func.max(monitor.c.id))) or 0)

    # The first monitor's 30 days of hour and day rollups, then copied to every other
    # monitor inside SQLite (INSERT ... SELECT), which is much faster than sending them.
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    today = this_hour.replace(hour=0)
    template: list[dict[str, Any]] = []
    for period, step, count in (
        ("hour", timedelta(hours=1), ROLLUP_DAYS * 24),
        ("day", timedelta(days=1), ROLLUP_DAYS),
    ):
        checks = int(step.total_seconds()) // interval
        for back in range(1, count + 1):
            down = 1 if back % 97 == 0 else 0
            avg = 20.0 + back % 17
            template.append(
                {
                    "monitor_id": first_id,
                    "period": period,
                    "bucket_start": (this_hour if period == "hour" else today) - step * back,
                    "up": checks - down,
                    "down": down,
                    "min_ms": 5,
                    "sum_ms": round(avg * checks),
                    "max_ms": 250,
                    "p95_ms": int(avg * 2),
                    "measured": checks,
                }
            )
    copied = [
        rollup.c.period,
        rollup.c.bucket_start,
        rollup.c.up,
        rollup.c.down,
        rollup.c.min_ms,
        rollup.c.sum_ms,
        rollup.c.max_ms,
        rollup.c.p95_ms,
        rollup.c.measured,
    ]
    async with sessions() as db, db.begin():
        await db.execute(insert(rollup), template)
    for low in range(first_id + 1, last_id + 1, 1000):
        source = (
            select(monitor.c.id, *copied)
            .select_from(monitor.join(rollup, rollup.c.monitor_id == first_id))
            .where(monitor.c.id.between(low, low + 999))
            .order_by(monitor.c.id)
        )
        columns = ["monitor_id", *(column.name for column in copied)]
        async with sessions() as db, db.begin():
            await db.execute(insert(rollup).from_select(columns, source))
    await engine.dispose()
    return first_id
