"""How results and rollups are stored: compact columns, their own keys, ids, steady state."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.monitors import recording, rollups
from server.monitors.checking import State, Verdict
from server.monitors.columns import Coded, EpochMicroseconds, EpochSeconds
from server.monitors.models import CheckResult, MonitorRollup
from server.providers.checks import CheckOutcome
from shared.api.common import API_PREFIX
from tests.conftest import World
from tests.server.test_rollups import monitor, prune_all

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_times_and_words_read_back_exactly_as_given() -> None:
    micro, seconds, coded = EpochMicroseconds(), EpochSeconds(), Coded(("up", "down"))
    dialect = sqlite.dialect()
    for moment in (T0.replace(microsecond=999_999), datetime(1969, 12, 31, 23, 59, tzinfo=UTC)):
        stored = micro.process_bind_param(moment, dialect)
        assert isinstance(stored, int)
        assert micro.process_result_value(stored, dialect) == moment
    assert seconds.process_bind_param(T0, dialect) == int(T0.timestamp())
    assert coded.process_bind_param("down", dialect) == 1
    assert coded.process_result_value(0, dialect) == "up"
    with pytest.raises(ValueError, match="naive"):
        micro.process_bind_param(T0.replace(tzinfo=None), dialect)
    with pytest.raises(ValueError, match="'sideways' is not one of up, down"):
        coded.process_bind_param("sideways", dialect)


@pytest.mark.sqlite_only(reason="SQLite's tables without rowid, read from sqlite_master")
def test_results_and_rollups_are_their_own_index(settings: Settings) -> None:
    """Both tables are kept in (monitor, time) order without a rowid: no second copy of
    their keys in another index, but the small one of buckets still waiting for a p95."""
    with sqlite3.connect(settings.data_dir / "upmetr.db") as connection:
        rows = connection.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
            " WHERE tbl_name IN ('check_result', 'monitor_rollup')"
        ).fetchall()
    tables = {name: sql for kind, name, _, sql in rows if kind == "table"}
    assert all(sql.rstrip().endswith("WITHOUT ROWID") for sql in tables.values())
    assert "PRIMARY KEY (monitor_id, checked_at, id)" in tables["check_result"]
    assert "PRIMARY KEY (monitor_id, period, bucket_start)" in tables["monitor_rollup"]
    indexes = [name for kind, name, _, _ in rows if kind == "index"]
    assert indexes == ["ix_monitor_rollup_p95_pending"]


def judged(
    monitor_id: int, at: datetime, status: str = "up", ms: float | None = 120.4
) -> recording.JudgedCheck:
    outcome = CheckOutcome(
        status=status,  # type: ignore[arg-type]
        checked_at=at,
        attempts=1,
        response_time_ms=ms,
        status_code=200 if ms is not None else None,
        error=None if ms is not None else "connection refused",
    )
    return recording.JudgedCheck(
        monitor_id=monitor_id,
        org_id=1,
        name="Site",
        outcome=outcome,
        verdict=Verdict(State(status), status, ()),
        previous_status=status,
        next_check_at=None,
    )


async def write(db: AsyncSession, batch: list[recording.JudgedCheck]) -> dict[int, int]:
    async with db.begin():
        return (await recording.write(db, batch)).result_ids


async def test_result_ids_grow_with_every_write_and_name_their_rows(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    """Ids come from one sequence, whoever writes: the writer's batches and a single insert
    between them; the checks list shows each id with its own result, newest first."""
    a, b = await monitor(db, world, "A"), await monitor(db, world, "B")
    first = await write(db, [judged(a, T0), judged(b, T0), judged(a, T0, "down", None)])
    async with db.begin():
        single = CheckResult(monitor_id=b, checked_at=T0 + timedelta(minutes=1), status="up")
        db.add(single)
    second = await write(db, [judged(a, T0 + timedelta(minutes=2))])
    ids = [first[0], first[1], first[2], single.id, second[0]]
    assert ids == list(range(ids[0], ids[0] + 5))

    response = await client.get(f"{API_PREFIX}/monitors/{a}/checks", headers=world.bob.headers)
    items = (await response.json())["items"]
    # Two results at the same time: the later written first, as before.
    assert [(item["id"], item["status"]) for item in items] == [
        (second[0], "up"),
        (first[2], "down"),
        (first[0], "up"),
    ]
    assert items[1]["error"] == "connection refused" and items[1]["response_time_ms"] is None
    assert items[2]["checked_at"] == "2026-05-01T12:00:00Z" and items[2]["response_time_ms"] == 120


async def test_steady_state_keeps_the_history_it_promises_and_no_more(
    db: AsyncSession, world: World
) -> None:
    """A 60 s monitor for 30 hours, its retention run every 10 minutes as the engine does:
    raw results are the newest `keep`, minute buckets cover `minute_days`, hour buckets
    `hour_days`, and every hour and day of the run has its bucket within those bounds."""
    m = await monitor(db, world)
    keep, minute_days, hour_days = 100, 0.25, 1.0  # 6 h of minutes, 24 h of hours
    start = T0
    now = start
    for step in range(30 * 6):
        batch = [judged(m, start + timedelta(minutes=10 * step + n, seconds=7)) for n in range(10)]
        await write(db, batch)
        now = start + timedelta(minutes=10 * (step + 1))
        async with db.begin():
            await rollups.finalize_p95(db, now=now)
        await prune_all(
            db, now=now, keep_results=keep, minute_days=minute_days, hour_days=hour_days
        )

    async with db.begin():
        results = list(
            await db.scalars(select(CheckResult.checked_at).order_by(CheckResult.checked_at))
        )
        counts = dict(
            (
                await db.execute(
                    select(MonitorRollup.period, func.count()).group_by(MonitorRollup.period)
                )
            ).all()
        )
        oldest_minute = await db.scalar(
            select(func.min(MonitorRollup.bucket_start)).where(MonitorRollup.period == "minute")
        )
        # Buckets closed over an hour ago that still have no p95: the day still open aside.
        pending = await db.scalar(
            select(func.count()).where(
                MonitorRollup.p95_ms.is_(None),
                MonitorRollup.bucket_start < now - timedelta(hours=1),
                MonitorRollup.bucket_start != now.replace(hour=0, minute=0),
            )
        )
    assert len(results) == keep and results[-1] == now - timedelta(minutes=1, seconds=-7)
    assert results[0] == now - timedelta(minutes=keep, seconds=-7)
    assert counts == {"minute": 6 * 60, "hour": 24, "day": 2}
    assert oldest_minute == now - timedelta(hours=6)
    assert pending == 0  # every settled bucket got its p95 before its raw results went
