"""Writing rollups: counts and latency added per batch, p95 once a bucket settles, retention.

The check engine adds each batch of results to the minute, hour and day buckets inside
the transaction that writes the raw results, so the two never disagree. The rollup engine
calls finalize_p95 and prune in small steps (server/engines/rollup.py). All statements are
set-based (executemany or one statement per group), never one per check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Insert, bindparam, case, delete, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.monitors import uptime
from server.monitors.models import P95_PENDING, CheckResult, Monitor, MonitorRollup
from server.monitors.uptime import Period

PERIODS: tuple[Period, ...] = ("minute", "hour", "day")
SPANS: dict[Period, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
STATUSES = ("up", "down", "degraded", "maintenance", "unknown")
# Checks whose latency counts: they got an answer, or timed out trying. Maintenance and
# unknown checks are left out of latency as they are of uptime (uptime.py).
LATENCY_STATUSES = ("up", "degraded", "down")
# Raw results are bounded per monitor, so only recent buckets can be finalized from them.
P95_HORIZON = timedelta(days=2)
# Monitors whose raw results and rollups one prune step looks at.
PRUNE_MONITORS = 100

# The tables, for Core statements (executemany, no ORM bookkeeping).
ROLLUPS = MonitorRollup.metadata.tables["monitor_rollup"]
RESULTS = CheckResult.metadata.tables["check_result"]


@dataclass(frozen=True, slots=True)
class RecordedCheck:
    monitor_id: int
    checked_at: datetime  # UTC, aware
    status: str  # up | down | degraded | unknown | maintenance
    response_time_ms: int | None


@dataclass(slots=True)
class _Bucket:
    counts: dict[str, int]
    measured: int = 0
    latency_sum: int = 0
    min_ms: int | None = None
    max_ms: int | None = None

    def add(self, status: str, latency: int | None) -> None:
        self.counts[status] += 1
        if latency is not None:
            self.measured += 1
            self.latency_sum += latency
            self.min_ms = latency if self.min_ms is None else min(self.min_ms, latency)
            self.max_ms = latency if self.max_ms is None else max(self.max_ms, latency)


def _aggregate(
    checks: Iterable[RecordedCheck],
) -> dict[Period, dict[tuple[int, datetime], _Bucket]]:
    """The batch's buckets per period, keyed by (monitor_id, bucket_start)."""
    buckets: dict[Period, dict[tuple[int, datetime], _Bucket]] = {p: {} for p in PERIODS}
    # A batch holds few distinct minutes, so each minute's hour and day are worked out once.
    starts: dict[datetime, tuple[datetime, datetime, datetime]] = {}
    for check in checks:
        if check.status not in STATUSES:
            raise ValueError(f"check of monitor {check.monitor_id}: unknown status {check.status}")
        if check.checked_at.tzinfo is None:
            raise ValueError(f"check of monitor {check.monitor_id}: checked_at is naive, not UTC")
        minute = uptime.bucket_start(check.checked_at.astimezone(UTC), "minute")
        if (periods := starts.get(minute)) is None:
            periods = starts[minute] = (
                minute,
                uptime.bucket_start(minute, "hour"),
                uptime.bucket_start(minute, "day"),
            )
        latency = check.response_time_ms if check.status in LATENCY_STATUSES else None
        for period, start in zip(PERIODS, periods, strict=True):
            key = (check.monitor_id, start)
            if (bucket := buckets[period].get(key)) is None:
                bucket = buckets[period][key] = _Bucket(counts=dict.fromkeys(STATUSES, 0))
            bucket.add(check.status, latency)
    return buckets


def _upsert(dialect: str) -> Insert:
    """One INSERT .. ON CONFLICT DO UPDATE that adds a bucket's batch to its stored row."""
    table = ROLLUPS
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    new, old = statement.excluded, table.c
    return statement.on_conflict_do_update(
        index_elements=[old.monitor_id, old.period, old.bucket_start],
        set_={
            **{status: old[status] + new[status] for status in STATUSES},
            "measured": old.measured + new.measured,
            "sum_ms": old.sum_ms + new.sum_ms,
            # Scalar MIN/MAX differ between SQLite and PostgreSQL in how they treat NULL.
            "min_ms": case(
                (old.min_ms.is_(None), new.min_ms),
                (new.min_ms.is_(None), old.min_ms),
                (new.min_ms < old.min_ms, new.min_ms),
                else_=old.min_ms,
            ),
            "max_ms": case(
                (old.max_ms.is_(None), new.max_ms),
                (new.max_ms.is_(None), old.max_ms),
                (new.max_ms > old.max_ms, new.max_ms),
                else_=old.max_ms,
            ),
        },
    )


async def add_to_rollups(db: AsyncSession, checks: Sequence[RecordedCheck]) -> None:
    """Add a batch of checks to their minute, hour and day buckets, in the caller's transaction.

    1. Aggregate the batch in memory per (period, monitor, bucket): counts by status, and
       count, sum, min and max of latency (up, degraded and down checks that carry one).
    2. Per period, one upsert run as executemany: a new bucket is inserted; an existing one
       gets the counts and latency sums added, min of mins, max of maxes, so it stays exact
       however the checks are split into batches.
    3. Nothing is committed: the raw results and their rollups land together.
    """
    connection = await db.connection()
    statement = _upsert(connection.dialect.name)
    for period, buckets in _aggregate(checks).items():
        if not buckets:
            continue
        # Sorted so concurrent writers lock rows in the same order (no deadlocks on PostgreSQL).
        rows = [
            {
                "monitor_id": monitor_id,
                "period": period,
                "bucket_start": start,
                **bucket.counts,
                "measured": bucket.measured,
                "sum_ms": bucket.latency_sum,
                "min_ms": bucket.min_ms,
                "max_ms": bucket.max_ms,
            }
            for (monitor_id, start), bucket in sorted(buckets.items())
        ]
        await connection.execute(statement, rows)


def nearest_rank(values: Sequence[int], percent: int = 95) -> int:
    """The nearest-rank percentile: the smallest value with `percent` % of values at or below."""
    ordered = sorted(values)
    rank = max(1, (percent * len(ordered) + 99) // 100)  # ceil, in integers
    return ordered[rank - 1]


def weighted_nearest_rank(pairs: Iterable[tuple[int, int]], percent: int = 95) -> int:
    """nearest_rank over (value, weight) pairs, as if each value occurred `weight` times."""
    ordered = sorted(pairs)
    total = sum(weight for _, weight in ordered)
    seen = 0
    for value, weight in ordered:
        seen += weight
        if seen * 100 >= percent * total:
            return value
    return ordered[-1][0]


@dataclass(frozen=True, slots=True)
class _Pending:
    monitor_id: int
    bucket_start: datetime
    max_ms: int | None


async def _pending(
    connection: AsyncConnection, period: Period, *, now: datetime, settled_at: datetime, limit: int
) -> list[_Pending]:
    if limit <= 0:
        return []
    rows = await connection.execute(
        select(MonitorRollup.monitor_id, MonitorRollup.bucket_start, MonitorRollup.max_ms)
        .where(
            text(P95_PENDING),
            MonitorRollup.period == period,
            MonitorRollup.bucket_start >= now - P95_HORIZON,
            # Closed (start + span) and settled: late results of its checks are in.
            MonitorRollup.bucket_start <= settled_at - SPANS[period],
        )
        .order_by(MonitorRollup.bucket_start)
        .limit(limit)
    )
    return [_Pending(*row) for row in rows]


def _by_start(pending: list[_Pending]) -> dict[datetime, list[_Pending]]:
    groups: dict[datetime, list[_Pending]] = defaultdict(list)
    for bucket in pending:
        groups[bucket.bucket_start].append(bucket)
    return groups


async def _latencies(
    connection: AsyncConnection, period: Period, start: datetime, monitor_ids: list[int]
) -> dict[int, list[int]]:
    """Latencies of the raw results in one bucket, per monitor (by the table's key)."""
    rows = await connection.execute(
        select(CheckResult.monitor_id, CheckResult.response_time_ms).where(
            CheckResult.monitor_id.in_(monitor_ids),
            CheckResult.checked_at >= start,
            CheckResult.checked_at < start + SPANS[period],
            CheckResult.status.in_(LATENCY_STATUSES),
            CheckResult.response_time_ms.is_not(None),
        )
    )
    found: dict[int, list[int]] = defaultdict(list)
    for monitor_id, latency in rows:
        if latency is not None:
            found[monitor_id].append(latency)
    return found


async def _hour_p95s(
    connection: AsyncConnection, day: datetime, monitor_ids: list[int]
) -> dict[int, list[tuple[int, int]]]:
    """(p95, measured) of each finalized hour of one day, per monitor."""
    rows = await connection.execute(
        select(MonitorRollup.monitor_id, MonitorRollup.p95_ms, MonitorRollup.measured).where(
            MonitorRollup.monitor_id.in_(monitor_ids),
            MonitorRollup.period == "hour",
            MonitorRollup.bucket_start >= day,
            MonitorRollup.bucket_start < day + SPANS["day"],
            MonitorRollup.p95_ms.is_not(None),
            MonitorRollup.measured > 0,
        )
    )
    found: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for monitor_id, p95_ms, measured in rows:
        if p95_ms is not None:
            found[monitor_id].append((p95_ms, measured))
    return found


async def _store_p95(
    connection: AsyncConnection, period: Period, values: list[dict[str, Any]]
) -> None:
    table = ROLLUPS
    statement = (
        update(table)
        .where(
            table.c.monitor_id == bindparam("m_id"),
            table.c.period == period,
            table.c.bucket_start == bindparam("start"),
        )
        .values(p95_ms=bindparam("p95"))
    )
    await connection.execute(statement, values)


async def finalize_p95(
    db: AsyncSession, *, now: datetime, settle_seconds: int = 300, limit: int = 2000
) -> int:
    """Fill in the p95 of settled buckets, at most `limit` of them; returns how many.

    p95 cannot be added batch by batch, so it waits until a bucket has closed and settled:
    a check's result is written up to a few attempts times its timeout after checked_at.

    1. Pending buckets are those with a latency and no p95 yet (ix_monitor_rollup_p95_pending),
       started within the last P95_HORIZON (older raw results are pruned), and ended at
       least `settle_seconds` before `now`; oldest first.
    2. Minute, then hour buckets: the nearest-rank 95th percentile of the latencies of
       their raw up, degraded and down results, read with one query per bucket start.
    3. Day buckets, only once no hour is pending (their hours come first): the count-weighted
       nearest-rank 95th percentile of their hours' p95s, each hour weighing its measured
       checks. An approximation: raw results do not cover a whole day for a fast monitor
       (1,000 results are under 3 hours at a 10 s interval), so the day is built from hours.
    4. A bucket with nothing to compute from (its raw results or hours are gone) takes its
       max_ms, an upper bound that is exact for buckets of up to 19 checks, so it never
       stays pending.
    5. Buckets without any latency keep a NULL p95 and are never pending (measured = 0).
    """
    connection = await db.connection()
    settled_at = now - timedelta(seconds=settle_seconds)
    finalized = 0
    for period in PERIODS:  # days last: they are made of their hours
        pending = await _pending(
            connection, period, now=now, settled_at=settled_at, limit=limit - finalized
        )
        values: list[dict[str, Any]] = []
        for start, group in _by_start(pending).items():
            p95s = await _p95s(connection, period, start, [b.monitor_id for b in group])
            values.extend(
                {"m_id": b.monitor_id, "start": start, "p95": p95s.get(b.monitor_id, b.max_ms)}
                for b in group
            )
        if values:
            await _store_p95(connection, period, values)
        finalized += len(pending)
    return finalized


async def _p95s(
    connection: AsyncConnection, period: Period, start: datetime, monitor_ids: list[int]
) -> dict[int, int]:
    """The p95 of each monitor's bucket at `start` that has something to compute it from."""
    if period == "day":
        hours = await _hour_p95s(connection, start, monitor_ids)
        return {monitor_id: weighted_nearest_rank(pairs) for monitor_id, pairs in hours.items()}
    latencies = await _latencies(connection, period, start, monitor_ids)
    return {monitor_id: nearest_rank(found) for monitor_id, found in latencies.items()}


@dataclass(frozen=True, slots=True)
class Pruned:
    deleted: int
    # Pass as after_monitor_id to the next call; None once the walk has passed the last
    # monitor (start again from 0).
    resume_after: int | None


async def _prune_results(
    connection: AsyncConnection, monitor_ids: list[int], *, keep: int, budget: int
) -> int:
    """Delete all but the newest `keep` results of each monitor, up to `budget` rows in all."""
    per_monitor = budget // len(monitor_ids)
    if per_monitor == 0:
        return 0
    table = RESULTS
    # Newest as the checks list shows them (checked_at, then id): the walk down the
    # table's own key stops after keep + per_monitor rows, and each row found is deleted
    # by its full key.
    monitor = table.c.monitor_id == bindparam("monitor_id")
    beyond_kept = (
        select(table.c.checked_at, table.c.id)
        .where(monitor)
        .order_by(table.c.checked_at.desc(), table.c.id.desc())
        .offset(keep)
        .limit(per_monitor)
    )
    statement = delete(table).where(
        monitor, tuple_(table.c.checked_at, table.c.id).in_(beyond_kept)
    )
    params = [{"monitor_id": monitor_id} for monitor_id in monitor_ids]
    if connection.dialect.supports_sane_multi_rowcount:
        return (await connection.execute(statement, params)).rowcount
    # asyncpg reports no row count for executemany, so each monitor is its own statement.
    deleted = 0
    for one in params:
        deleted += (await connection.execute(statement, one)).rowcount
    return deleted


async def _prune_rollups(
    connection: AsyncConnection,
    monitor_ids: list[int],
    cutoffs: dict[Period, datetime],
    *,
    budget: int,
) -> int:
    table = ROLLUPS
    deleted = 0
    for period, cutoff in cutoffs.items():
        if deleted >= budget:
            break
        # Led by monitor_id so the table's key (monitor, period, bucket_start) finds the old
        # buckets directly.
        key = tuple_(table.c.monitor_id, table.c.period, table.c.bucket_start)
        chosen = (
            select(table.c.monitor_id, table.c.period, table.c.bucket_start)
            .where(
                table.c.monitor_id.in_(monitor_ids),
                table.c.period == period,
                table.c.bucket_start < cutoff,
            )
            .limit(budget - deleted)
        )
        result = await connection.execute(delete(table).where(key.in_(chosen)))
        deleted += result.rowcount
    return deleted


async def prune(
    db: AsyncSession,
    *,
    now: datetime,
    keep_results: int,
    minute_days: float,
    hour_days: float,
    day_days: float,
    batch: int = 1000,
    after_monitor_id: int = 0,
) -> Pruned:
    """One retention step over the next PRUNE_MONITORS monitors; deletes at most `batch` rows.

    1. Take the monitors after `after_monitor_id`, in id order. None left: the walk is
       over (resume_after None).
    2. Their rollups older than their period's retention (minute_days, hour_days,
       day_days), minute first, deleted `batch` rows at most, through the rollups' key
       (monitor, period, bucket_start).
    3. Their raw results beyond the newest `keep_results`: one index-driven statement per
       monitor, run as executemany, sharing what is left of `batch` equally.
    4. Rows were deleted: stay on these monitors (resume_after = after_monitor_id) so a
       backlog drains before the walk moves on. Else move past them.
    """
    connection = await db.connection()
    # No more monitors than rows allowed, so each gets at least one row of the budget.
    walked = max(1, min(PRUNE_MONITORS, batch))
    monitor_ids = list(
        await connection.scalars(
            select(Monitor.id)
            .where(Monitor.id > after_monitor_id)
            .order_by(Monitor.id)
            .limit(walked)
        )
    )
    if not monitor_ids:
        return Pruned(deleted=0, resume_after=None)
    cutoffs: dict[Period, datetime] = {
        "minute": now - timedelta(days=minute_days),
        "hour": now - timedelta(days=hour_days),
        "day": now - timedelta(days=day_days),
    }
    deleted = await _prune_rollups(connection, monitor_ids, cutoffs, budget=batch)
    deleted += await _prune_results(
        connection, monitor_ids, keep=keep_results, budget=batch - deleted
    )
    if deleted:
        return Pruned(deleted=deleted, resume_after=after_monitor_id)
    last = len(monitor_ids) < walked
    return Pruned(deleted=0, resume_after=None if last else monitor_ids[-1])
