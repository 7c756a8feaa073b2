"""Backfilling the daily history that status pages draw (POST .../generate-history).

Days are day rollups (server/monitors/rollups.py), written with every check. A day whose
row is missing or disagrees with its hours (restored data, rollups from before a day row
was kept) is rebuilt from the hourly rollups, which are kept 90 days:
1. Read the monitors' hourly rollups from `days` ago, summed per UTC day.
2. Read their day rows over the same days.
3. Each day whose counts or latency sums differ (or that has no row) is written anew from
   its hours, its p95 left for the finalizer (it computes a day's from its hours' p95s).
Days without hourly rollups are left as they are. Returns how many days were written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.monitors.models import MonitorRollup

COUNTS = ("up", "down", "degraded", "maintenance", "unknown", "measured", "sum_ms")


@dataclass
class _Day:
    up: int = 0
    down: int = 0
    degraded: int = 0
    maintenance: int = 0
    unknown: int = 0
    measured: int = 0
    sum_ms: int = 0
    min_ms: int | None = None
    max_ms: int | None = None

    def add(self, hour: MonitorRollup) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(hour, name))
        if hour.min_ms is not None:
            self.min_ms = hour.min_ms if self.min_ms is None else min(self.min_ms, hour.min_ms)
        if hour.max_ms is not None:
            self.max_ms = hour.max_ms if self.max_ms is None else max(self.max_ms, hour.max_ms)

    def same_as(self, row: MonitorRollup) -> bool:
        return all(getattr(self, name) == getattr(row, name) for name in COUNTS)


async def rebuild_days(
    db: AsyncSession, *, monitor_ids: list[int], days: int, now: datetime | None = None
) -> int:
    if not monitor_ids:
        return 0
    today = (now or utcnow()).astimezone(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=UTC)
    from_hours: dict[tuple[int, date], _Day] = {}
    hours = await db.scalars(
        select(MonitorRollup).where(
            MonitorRollup.monitor_id.in_(monitor_ids),
            MonitorRollup.period == "hour",
            MonitorRollup.bucket_start >= since,
        )
    )
    for hour in hours:
        key = (hour.monitor_id, hour.bucket_start.astimezone(UTC).date())
        from_hours.setdefault(key, _Day()).add(hour)
    stored = {
        (row.monitor_id, row.bucket_start.astimezone(UTC).date()): row
        for row in await db.scalars(
            select(MonitorRollup).where(
                MonitorRollup.monitor_id.in_(monitor_ids),
                MonitorRollup.period == "day",
                MonitorRollup.bucket_start >= since,
            )
        )
    }
    stale = sorted(
        key for key, day in from_hours.items() if key not in stored or not day.same_as(stored[key])
    )
    if not stale:
        return 0
    starts = [(monitor_id, _start(day)) for monitor_id, day in stale]
    await db.execute(
        delete(MonitorRollup)
        .where(
            MonitorRollup.period == "day",
            tuple_(MonitorRollup.monitor_id, MonitorRollup.bucket_start).in_(starts),
        )
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        insert(MonitorRollup),
        [
            {
                "monitor_id": monitor_id,
                "period": "day",
                "bucket_start": _start(day),
                **vars(from_hours[(monitor_id, day)]),
            }
            for monitor_id, day in stale
        ],
    )
    return len(stale)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
