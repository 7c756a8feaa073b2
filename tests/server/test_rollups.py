"""Rollups as checks are written: exact sums across batches, settled p95s, retention, the engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.context import SESSIONS
from server.engines.rollup import RollupEngine
from server.monitors import rollups, uptime
from server.monitors.models import CheckResult, Monitor, MonitorRollup
from server.monitors.rollups import RecordedCheck
from shared.api.common import API_PREFIX
from tests.conftest import World

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
RETENTION = {"minute_days": 2, "hour_days": 90, "day_days": 400}


async def monitor(db: AsyncSession, world: World, name: str = "Site") -> int:
    async with db.begin():
        row = Monitor(org_id=world.org_a, name=name, type="http", url="https://example.com/")
        db.add(row)
        await db.flush()
        return row.id


def check(monitor_id: int, at: datetime, status: str = "up", ms: int | None = 100) -> RecordedCheck:
    return RecordedCheck(monitor_id=monitor_id, checked_at=at, status=status, response_time_ms=ms)


async def add(db: AsyncSession, checks: Sequence[RecordedCheck]) -> None:
    async with db.begin():
        await rollups.add_to_rollups(db, checks)


async def record(db: AsyncSession, checks: Sequence[RecordedCheck]) -> None:
    """As the check engine does: raw results and their rollups in one transaction."""
    async with db.begin():
        db.add_all(
            CheckResult(
                monitor_id=c.monitor_id,
                checked_at=c.checked_at,
                status=c.status,
                response_time_ms=c.response_time_ms,
            )
            for c in checks
        )
        await db.flush()
        await rollups.add_to_rollups(db, checks)


async def bucket(db: AsyncSession, monitor_id: int, period: str, start: datetime) -> MonitorRollup:
    async with db.begin():
        return (
            await db.scalars(
                select(MonitorRollup)
                .where(
                    MonitorRollup.monitor_id == monitor_id,
                    MonitorRollup.period == period,
                    MonitorRollup.bucket_start == start,
                )
                .execution_options(populate_existing=True)
            )
        ).one()


async def finalize(db: AsyncSession, now: datetime, **options: int) -> int:
    async with db.begin():
        return await rollups.finalize_p95(db, now=now, **options)


async def prune_step(db: AsyncSession, after: int = 0, **options: Any) -> rollups.Pruned:
    async with db.begin():
        return await rollups.prune(
            db, **{"keep_results": 1000, **RETENTION, **options}, after_monitor_id=after
        )


async def prune_all(db: AsyncSession, **options: Any) -> int:
    """Walk all monitors, staying on each chunk until it is clean, as the engine does."""
    deleted, after = 0, 0
    while True:
        step = await prune_step(db, after, **options)
        deleted += step.deleted
        if step.resume_after is None:
            return deleted
        after = step.resume_after


async def count(
    db: AsyncSession, model: type[CheckResult] | type[MonitorRollup], **where: Any
) -> int:
    async with db.begin():
        query = select(func.count()).select_from(model).filter_by(**where)
        return (await db.scalar(query)) or 0


# Adding checks


async def test_batches_from_several_calls_add_up_exactly_in_minute_hour_and_day_buckets(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    s = timedelta(seconds=1)
    await add(db, [check(m, T0 + 10 * s, ms=100), check(m, T0 + 20 * s, "degraded", 300)])
    await add(db, [check(m, T0 + 70 * s, ms=50), check(m, T0 + 30 * s, "down", 700)])
    await add(db, [check(m, T0 + 40 * s, "down", None), check(m, T0 + 3700 * s, ms=200)])

    minute = await bucket(db, m, "minute", T0)
    assert (minute.up, minute.degraded, minute.down, minute.measured) == (1, 1, 2, 3)
    assert (minute.min_ms, minute.max_ms) == (100, 700)
    assert minute.avg_ms == pytest.approx((100 + 300 + 700) / 3)
    assert (await bucket(db, m, "minute", T0 + timedelta(minutes=1))).avg_ms == 50.0
    hour = await bucket(db, m, "hour", T0)
    assert (hour.up, hour.degraded, hour.down, hour.measured) == (2, 1, 2, 4)
    assert (hour.min_ms, hour.avg_ms, hour.max_ms) == (50, 287.5, 700)
    next_hour = await bucket(db, m, "hour", T0 + timedelta(hours=1))
    assert (next_hour.up, next_hour.avg_ms) == (1, 200.0)
    day = await bucket(db, m, "day", uptime.bucket_start(T0, "day"))
    assert (day.up, day.degraded, day.down, day.measured) == (3, 1, 2, 5)
    assert (day.min_ms, day.avg_ms, day.max_ms, day.p95_ms) == (50, 270.0, 700, None)


async def test_a_bucket_split_across_batches_equals_the_same_checks_written_at_once(
    db: AsyncSession, world: World
) -> None:
    whole, split = await monitor(db, world, "whole"), await monitor(db, world, "split")
    latencies = [120, 80, 310, 95, 101, 2000, 87]
    at = [T0 + timedelta(seconds=7 * i) for i in range(len(latencies))]
    await add(db, [check(whole, t, ms=ms) for t, ms in zip(at, latencies, strict=True)])
    for t, ms in zip(at, latencies, strict=True):
        await add(db, [check(split, t, ms=ms)])

    for period in rollups.PERIODS:
        start = uptime.bucket_start(T0, period)
        one, many = await bucket(db, whole, period, start), await bucket(db, split, period, start)
        assert (one.up, one.measured, one.min_ms, one.max_ms) == (7, 7, 80, 2000)
        assert (many.up, many.measured, many.min_ms, many.max_ms) == (7, 7, 80, 2000)
        assert many.avg_ms == pytest.approx(one.avg_ms) == pytest.approx(sum(latencies) / 7)


async def test_maintenance_and_unknown_checks_count_in_their_columns_but_not_in_latency(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    await add(
        db,
        [
            check(m, T0, "maintenance", 50),
            check(m, T0 + timedelta(seconds=5), "unknown", 10),
            check(m, T0 + timedelta(seconds=9), "up", 200),
            check(m, T0 + timedelta(minutes=1), "maintenance", 40),
        ],
    )
    minute = await bucket(db, m, "minute", T0)
    assert (minute.up, minute.maintenance, minute.unknown, minute.measured) == (1, 1, 1, 1)
    assert (minute.min_ms, minute.avg_ms, minute.max_ms) == (200, 200.0, 200)
    only_maintenance = await bucket(db, m, "minute", T0 + timedelta(minutes=1))
    assert only_maintenance.maintenance == 1 and only_maintenance.measured == 0
    assert (only_maintenance.min_ms, only_maintenance.avg_ms, only_maintenance.max_ms) == (
        None,
        None,
        None,
    )
    assert (await bucket(db, m, "hour", T0)).avg_ms == 200.0


async def test_a_check_with_a_status_rollups_do_not_know_is_refused(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    with pytest.raises(ValueError, match="unknown status pending"):
        await add(db, [check(m, T0, "pending")])
    assert await count(db, MonitorRollup) == 0


# p95


async def test_p95_fills_in_only_after_the_bucket_closes_and_settles(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    # 20 latencies 10..200 ms: nearest rank is the 19th (ceil(0.95 x 20)), 190 ms.
    checks = [check(m, T0 + timedelta(seconds=2 * i), ms=10 * (i + 1)) for i in range(20)]
    checks.append(check(m, T0 + timedelta(seconds=45), "maintenance", 9000))
    checks.append(check(m, T0 + timedelta(seconds=46), "unknown", 8000))
    await record(db, checks)
    minute_closed = T0 + timedelta(minutes=1)

    assert await finalize(db, minute_closed + timedelta(seconds=299)) == 0
    assert (await bucket(db, m, "minute", T0)).p95_ms is None
    assert await finalize(db, minute_closed + timedelta(seconds=300)) == 1
    assert (await bucket(db, m, "minute", T0)).p95_ms == 190
    assert (await bucket(db, m, "hour", T0)).p95_ms is None  # the hour is still open
    assert await finalize(db, T0 + timedelta(hours=1, seconds=300)) == 1
    assert (await bucket(db, m, "hour", T0)).p95_ms == 190
    assert await finalize(db, T0 + timedelta(hours=1, seconds=300)) == 0


async def test_a_day_p95_is_the_p95_of_its_hours_weighed_by_their_checks(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    day = uptime.bucket_start(T0, "day")
    # 97 fast checks in one hour, 3 slow ones in the next: the 95th of the 100 is fast.
    fast = [check(m, day + timedelta(seconds=30 * i), ms=100) for i in range(97)]
    slow = [check(m, day + timedelta(hours=1, seconds=i), ms=1000) for i in range(3)]
    await record(db, fast + slow)
    settled = day + timedelta(days=1, seconds=300)

    # One bucket per call: the day still waits for both its hours.
    while await finalize(db, settled, limit=1):
        pass
    assert (await bucket(db, m, "hour", day)).p95_ms == 100
    assert (await bucket(db, m, "hour", day + timedelta(hours=1))).p95_ms == 1000
    assert (await bucket(db, m, "day", day)).p95_ms == 100


async def test_buckets_without_latency_keep_no_p95_and_are_not_looked_at_again(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    await record(db, [check(m, T0, "maintenance", 30), check(m, T0, "down", None)])
    assert await finalize(db, T0 + timedelta(days=1, hours=1)) == 0
    assert (await bucket(db, m, "minute", T0)).p95_ms is None


async def test_a_bucket_whose_raw_results_are_gone_takes_its_max_as_p95(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    await add(db, [check(m, T0, ms=70), check(m, T0 + timedelta(seconds=30), ms=90)])
    assert await finalize(db, T0 + timedelta(minutes=10)) == 1
    assert (await bucket(db, m, "minute", T0)).p95_ms == 90
    assert await finalize(db, T0 + timedelta(minutes=10)) == 0


async def test_buckets_older_than_two_days_are_left_alone(db: AsyncSession, world: World) -> None:
    m = await monitor(db, world)
    await record(db, [check(m, T0)])
    assert await finalize(db, T0 + timedelta(days=2, minutes=1)) == 0


async def test_finalizing_is_bounded_and_resumes_where_it_stopped(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    await record(db, [check(m, T0 + timedelta(minutes=i), ms=i + 1) for i in range(5)])
    now = T0 + timedelta(hours=2)
    # Five minutes and their hour; the day is still open.
    assert [await finalize(db, now, limit=2) for _ in range(4)] == [2, 2, 2, 0]
    for i in range(5):
        assert (await bucket(db, m, "minute", T0 + timedelta(minutes=i))).p95_ms == i + 1


# Retention


async def test_prune_keeps_exactly_the_newest_results_of_each_monitor(
    db: AsyncSession, world: World
) -> None:
    busy, quiet = await monitor(db, world, "busy"), await monitor(db, world, "quiet")
    # Written out of order: a late result is still placed by when it was checked.
    minutes = [*range(1, 30), 0]
    await record(db, [check(busy, T0 + timedelta(minutes=i), ms=i) for i in minutes])
    await record(db, [check(quiet, T0 + timedelta(minutes=i)) for i in range(5)])

    assert await prune_all(db, now=T0, keep_results=10) == 20
    async with db.begin():
        kept = await db.scalars(
            select(CheckResult.response_time_ms).where(CheckResult.monitor_id == busy)
        )
        assert sorted(kept) == list(range(20, 30))
    assert await count(db, CheckResult, monitor_id=quiet) == 5
    assert await prune_all(db, now=T0, keep_results=10) == 0


async def test_prune_deletes_rollups_past_each_period_retention_and_keeps_recent_ones(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    now = T0
    ages = {"minute": (3, 1), "hour": (100, 80), "day": (500, 300)}  # days: (old, recent)
    async with db.begin():
        for period, (old, recent) in ages.items():
            for days in (old, recent):
                start = uptime.bucket_start(now - timedelta(days=days), period)
                db.add(MonitorRollup(monitor_id=m, period=period, bucket_start=start, up=1))

    assert await prune_all(db, now=now) == 3
    async with db.begin():
        left = (await db.execute(select(MonitorRollup.period, MonitorRollup.bucket_start))).all()
    assert sorted(left) == sorted(
        (period, uptime.bucket_start(now - timedelta(days=recent), period))
        for period, (_, recent) in ages.items()
    )


async def test_pruning_deletes_no_more_than_the_batch_size_per_step(
    db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    await record(db, [check(m, T0 + timedelta(minutes=i)) for i in range(25)])
    now = T0 + timedelta(days=3)  # every minute bucket is past retention

    steps = []
    while (step := await prune_step(db, now=now, keep_results=10, batch=10)).deleted:
        assert step.resume_after == 0  # stays on the monitor until it is clean
        steps.append(step.deleted)
    assert steps == [10, 10, 10, 10]  # 25 minute buckets first, then 15 raw results
    assert step.resume_after is None
    assert await count(db, CheckResult) == 10
    assert await count(db, MonitorRollup, period="minute") == 0
    assert await count(db, MonitorRollup, period="hour") == 1


async def test_the_prune_walk_moves_across_monitors_in_chunks(
    db: AsyncSession, world: World
) -> None:
    ids = [await monitor(db, world, f"m{i}") for i in range(3)]
    await record(db, [check(m, T0 + timedelta(seconds=i)) for m in ids for i in range(3)])

    first = await prune_step(db, now=T0, keep_results=1, batch=2)
    assert (first.deleted, first.resume_after) == (2, 0)
    assert (await prune_step(db, now=T0, keep_results=1, batch=2)).deleted == 2
    clean = await prune_step(db, now=T0, keep_results=1, batch=2)
    assert (clean.deleted, clean.resume_after) == (0, ids[1])
    assert (await prune_step(db, clean.resume_after, now=T0, keep_results=1, batch=2)).deleted == 2
    assert await count(db, CheckResult) == 3


# Read back through the API


async def test_metrics_and_daily_uptime_show_the_checks_added_to_rollups(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    now = uptime.bucket_start(datetime.now(UTC), "minute")
    at = [now - timedelta(minutes=3), now - timedelta(minutes=3, seconds=-20)]
    at.append(now - timedelta(minutes=2))
    await add(db, [check(m, at[0], ms=100), check(m, at[1], ms=300)])
    await add(db, [check(m, at[2], "down", 800), check(m, at[2], "maintenance", None)])

    url = f"{API_PREFIX}/monitors/{m}"
    response = await client.get(f"{url}/metrics?range=1h", headers=world.bob.headers)
    metrics = await response.json()
    assert response.status == 200, metrics
    assert [p["up"] for p in metrics["points"]] == [2, 0]
    assert [p["max_ms"] for p in metrics["points"]] == [300, 800]
    assert metrics["checks"] == 4 and metrics["maintenance"] == 1
    assert metrics["uptime_pct"] == round(100 * 2 / 3, 3)
    assert metrics["avg_response_ms"] == 400.0

    response = await client.get(f"{url}/uptime/daily?days=3", headers=world.bob.headers)
    days = {day["date"]: day for day in await response.json()}
    per_day: dict[str, list[str]] = {}
    for moment, status in zip([*at, at[2]], ["up", "up", "down", "maintenance"], strict=True):
        per_day.setdefault(moment.date().isoformat(), []).append(status)
    for date, statuses in per_day.items():
        assert days[date]["checks"] == len(statuses)
        assert days[date]["failures"] == statuses.count("down")


# The engine


async def test_the_engine_works_until_nothing_is_left_then_says_so(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    m = await monitor(db, world)
    await record(db, [check(m, T0 + timedelta(seconds=20 * i), ms=i) for i in range(30)])
    now = T0 + timedelta(days=1, hours=1)
    engine = RollupEngine(client.app[SESSIONS], keep_results=5, clock=lambda: now)

    steps = 0
    while await engine.run_once():
        steps += 1
        assert steps < 50
    assert steps > 0
    assert not await engine.run_once()
    assert await count(db, CheckResult) == 5
    assert (await bucket(db, m, "hour", T0)).p95_ms == 28  # ceil(0.95 x 30) = 29th of 0..29
    assert (await bucket(db, m, "day", uptime.bucket_start(T0, "day"))).p95_ms == 28


async def test_stop_ends_a_sleeping_engine_promptly(client: TestClient) -> None:
    engine = RollupEngine(client.app[SESSIONS], interval_seconds=3600)
    running = asyncio.create_task(engine.run())
    await asyncio.sleep(0.2)
    assert not running.done()
    await engine.stop()
    await asyncio.wait_for(running, timeout=2)


async def test_a_failing_step_is_logged_and_the_loop_goes_on(
    client: TestClient, db: AsyncSession, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    m = await monitor(db, world)
    await record(db, [check(m, T0, ms=42)])
    calls = 0

    def clock() -> datetime:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("clock unavailable")
        return T0 + timedelta(minutes=10)

    engine = RollupEngine(client.app[SESSIONS], interval_seconds=0.01, clock=clock)
    with caplog.at_level(logging.ERROR, logger="upmetr.engines.rollup"):
        running = asyncio.create_task(engine.run())
        for _ in range(200):
            if (await bucket(db, m, "minute", T0)).p95_ms is not None:
                break
            await asyncio.sleep(0.01)
        await engine.stop()
        await asyncio.wait_for(running, timeout=2)
    assert "rollup step failed" in caplog.text
    assert (await bucket(db, m, "minute", T0)).p95_ms == 42
