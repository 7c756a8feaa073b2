"""Bytes per monitor at steady state, at default retention, per table and index.

Builds a fresh database with the real migrations and fills N monitors of a 60 s interval
to steady state:

1. History older than the simulated run: hour rollups back to 90 days and day rollups
   back to 400 days, written as rows (hour after hour, every monitor in turn, as the
   engine writes them), with the counts and latencies a 60 s monitor gives them.
2. The last `--hours` (default 52, past the 48 h of minute rollups) through the product's
   own code paths: a batch per simulated minute, one check per monitor, written by
   recording.write (raw results, monitor state, minute/hour/day rollups), and the rollup
   engine's step (p95s and retention) run to completion every 10 simulated minutes.

Then a checkpoint, and SQLite's dbstat table gives the pages of each table and index.

    python benchmarks/storage.py [--monitors 20] [--hours 52] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.seeding import database_url, seed_org  # noqa: E402

INTERVAL = 60
STEP_MINUTES = 10  # simulated minutes between rollup engine steps


def latency(rng: random.Random) -> int:
    return int(rng.lognormvariate(4.8, 0.35))  # about 120 ms, a long tail


async def fill(data_dir: Path, monitors: int, hours: int) -> tuple[float, float, int]:
    """Fills the database; returns seconds in result writes, seconds in rollup engine
    steps, and the checks written."""
    from sqlalchemy import insert, select

    from server.db.engine import create_engine, create_sessionmaker
    from server.engines.rollup import RollupEngine
    from server.monitors import recording
    from server.monitors.checking import State, Verdict
    from server.monitors.models import Monitor, MonitorRollup
    from server.providers.checks import CheckOutcome

    engine = create_engine(database_url(str(data_dir)))
    sessions = create_sessionmaker(engine)
    org_id = await seed_org(sessions)
    async with sessions() as db, db.begin():
        await db.execute(
            insert(Monitor),
            [
                {"org_id": org_id, "name": f"m{n}", "type": "http", "url": f"http://m{n}/"}
                for n in range(monitors)
            ],
        )
        ids = list(await db.scalars(select(Monitor.id).order_by(Monitor.id)))

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=hours)
    rng = random.Random(15)

    # 1. The older history, as rows.
    first_hour = (now - timedelta(days=90)).replace(minute=0)
    first_day = (now - timedelta(days=400)).replace(hour=0, minute=0)
    last_day = start.replace(hour=0, minute=0)
    last_hour = start.replace(minute=0)

    def bucket(monitor_id: int, period: str, at: datetime, checks: int) -> MonitorRollup:
        down = 1 if rng.random() < 0.1 else 0
        values = sorted(latency(rng) for _ in range(20))
        return MonitorRollup(
            monitor_id=monitor_id,
            period=period,
            bucket_start=at,
            up=checks - down,
            down=down,
            measured=checks,
            min_ms=values[0],
            avg_ms=sum(values) / len(values),
            max_ms=values[-1] + rng.randrange(200),
            p95_ms=values[-2],
        )

    day = first_day
    while day < last_day:
        async with sessions() as db, db.begin():
            db.add_all(bucket(m, "day", day, 1440) for m in ids)
            hour = max(day, first_hour)
            while hour < min(day + timedelta(days=1), last_hour):
                db.add_all(bucket(m, "hour", hour, 60) for m in ids)
                hour += timedelta(hours=1)
        day += timedelta(days=1)
    async with sessions() as db, db.begin():
        hour = max(last_day, first_hour)
        while hour < last_hour:
            db.add_all(bucket(m, "hour", hour, 60) for m in ids)
            hour += timedelta(hours=1)

    # 2. The last hours through the writer and the rollup engine.
    clock = [start]
    rollup = RollupEngine(sessions, clock=lambda: clock[0])
    state = State("up", 0, 5, 0)
    minute = start
    writing = stepping = 0.0
    written = 0
    while minute < now:
        batch = []
        for index, monitor_id in enumerate(ids):
            at = minute + timedelta(seconds=index % 60, microseconds=rng.randrange(1_000_000))
            down = rng.random() < 0.005
            outcome = CheckOutcome(
                status="down" if down else "up",
                checked_at=at,
                attempts=1,
                response_time_ms=None if down else latency(rng) + rng.random(),
                status_code=None if down else 200,
                error="connection refused" if down else None,
            )
            batch.append(
                recording.JudgedCheck(
                    monitor_id=monitor_id,
                    org_id=org_id,
                    name=f"m{index}",
                    outcome=outcome,
                    verdict=Verdict(state, outcome.status, ()),
                    previous_status="up",
                    next_check_at=at + timedelta(seconds=INTERVAL),
                )
            )
        began = time.perf_counter()
        async with sessions() as db, db.begin():
            await recording.write(db, batch)
        writing += time.perf_counter() - began
        written += len(batch)
        minute += timedelta(minutes=1)
        if minute.minute % STEP_MINUTES == 0:
            clock[0] = minute
            began = time.perf_counter()
            while await rollup.run_once():
                pass
            stepping += time.perf_counter() - began
    await engine.dispose()
    return writing, stepping, written


def report(data_dir: Path, monitors: int) -> None:
    path = data_dir / "upmetr.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    free_pages = connection.execute("PRAGMA freelist_count").fetchone()[0]
    found = connection.execute(
        "SELECT d.name, m.tbl_name, sum(d.pgsize), sum(d.payload), sum(d.ncell)"
        " FROM dbstat AS d JOIN sqlite_master AS m ON m.name = d.name"
        " WHERE m.tbl_name IN ('check_result', 'monitor_rollup', 'check_result_sequence')"
        " GROUP BY d.name ORDER BY m.tbl_name, d.name"
    ).fetchall()
    rows = {
        table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in {table for _, table, *_ in found}
    }
    periods = connection.execute(
        "SELECT period, count(*) FROM monitor_rollup GROUP BY period ORDER BY period"
    ).fetchall()
    connection.close()
    total = 0
    print(f"{'table or index':<40} {'KB/monitor':>11} {'rows/monitor':>13} {'bytes/row':>10}")
    for name, table, size, payload, _cells in found:
        total += size
        per_row = size / max(1, rows[table])
        print(
            f"{name:<40} {size / monitors / 1000:>11.1f} {rows[table] / monitors:>13.0f}"
            f" {per_row:>10.1f}   (payload {payload / max(1, rows[table]):.1f} B/row)"
        )
    print(f"{'results and rollups':<40} {total / monitors / 1000:>11.1f}")
    # Stored as words before migration 0010, as codes since.
    names = dict(enumerate(("minute", "hour", "day")))
    print(
        "rollup rows per monitor by period:",
        {names.get(p, p): round(c / monitors) for p, c in periods},
    )
    file_size = path.stat().st_size
    print(
        f"file after checkpoint: {file_size / 1e6:.2f} MB, {file_size / monitors / 1000:.1f} KB"
        f" per monitor (freelist {free_pages * page_size / monitors / 1000:.1f} KB per monitor,"
        " the rest of the schema included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=20)
    parser.add_argument("--hours", type=int, default=52, help="simulated through the writer")
    parser.add_argument("--keep", type=Path, help="build the database here and keep it")
    args = parser.parse_args()
    from server.db.migrate import upgrade

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.keep or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(database_url(str(data_dir)))
        started = time.perf_counter()
        writing, stepping, written = asyncio.run(fill(data_dir, args.monitors, args.hours))
        print(
            f"{args.monitors} monitors at {INTERVAL} s, default retention, {args.hours} h"
            f" through the writer ({time.perf_counter() - started:.0f} s to fill)"
        )
        print(
            f"result writes: {writing / written * 1e6:.0f} ms per 1,000 checks"
            f" (batches of {args.monitors}); rollup engine steps:"
            f" {stepping / written * 1e6:.0f} ms per 1,000 checks"
        )
        report(data_dir, args.monitors)


if __name__ == "__main__":
    main()
