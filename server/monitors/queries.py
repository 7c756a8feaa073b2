"""Read paths over rollups and raw results: uptime figures, metrics, daily uptime, checks.

Uptime and latency come from rollups only, never from scanning raw results
(ARCHITECTURE.md, "Data lifecycle"); the arithmetic lives in uptime.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import paging
from server.monitors import uptime
from server.monitors.models import CheckResult, Monitor, MonitorRollup
from shared.api.common import Page
from shared.api.monitors import (
    CheckQuery,
    CheckResultRead,
    DailyUptime,
    MetricsPoint,
    MetricsRange,
    MonitorMetrics,
)


async def uptimes(
    db: AsyncSession, monitor_ids: list[int], *, now: datetime
) -> dict[int, dict[str, float | None]]:
    """uptime_24h/7d/30d of each monitor, one grouped query per span."""
    result: dict[int, dict[str, float | None]] = {
        monitor_id: dict.fromkeys(uptime.UPTIME_SPANS) for monitor_id in monitor_ids
    }
    if not monitor_ids:
        return result
    for name, (span, period) in uptime.UPTIME_SPANS.items():
        rows = await db.execute(
            select(
                MonitorRollup.monitor_id,
                func.sum(MonitorRollup.up),
                func.sum(MonitorRollup.down),
                func.sum(MonitorRollup.degraded),
            )
            .where(
                MonitorRollup.monitor_id.in_(monitor_ids),
                MonitorRollup.period == period,
                MonitorRollup.bucket_start >= uptime.window_start(now, span, period),
            )
            .group_by(MonitorRollup.monitor_id)
        )
        for monitor_id, up, down, degraded in rows:
            counts = uptime.Totals(up=up or 0, down=down or 0, degraded=degraded or 0)
            result[monitor_id][name] = counts.uptime_pct
    return result


def _rollups(monitor_id: int, period: str, since: datetime) -> list[ColumnElement[bool]]:
    return [
        MonitorRollup.monitor_id == monitor_id,
        MonitorRollup.period == period,
        MonitorRollup.bucket_start >= since,
    ]


async def metrics(
    db: AsyncSession, *, monitor: Monitor, range_: MetricsRange, now: datetime
) -> MonitorMetrics:
    span, period = uptime.RANGES[range_]
    since = uptime.window_start(now, span, period)
    rows = list(
        await db.scalars(
            select(MonitorRollup)
            .where(*_rollups(monitor.id, period, since))
            .order_by(MonitorRollup.bucket_start)
        )
    )
    totals = uptime.total(rows)
    return MonitorMetrics(
        range=range_,
        period=period,
        uptime_pct=totals.uptime_pct,
        checks=totals.checks,
        up=totals.up,
        down=totals.down,
        degraded=totals.degraded,
        maintenance=totals.maintenance,
        unknown=totals.unknown,
        avg_response_ms=totals.avg_ms,
        points=[MetricsPoint.model_validate(row) for row in rows],
    )


async def daily(
    db: AsyncSession, *, monitor: Monitor, days: int, now: datetime
) -> list[DailyUptime]:
    """One entry per UTC day, oldest first, today included; a day without data has no uptime."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=UTC)
    rows = await db.scalars(select(MonitorRollup).where(*_rollups(monitor.id, "day", since)))
    by_day: dict[date, MonitorRollup] = {row.bucket_start.date(): row for row in rows}
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day)
        totals = uptime.total([row] if row else [])
        result.append(
            DailyUptime(
                date=day,
                uptime_pct=totals.uptime_pct,
                checks=totals.checks,
                failures=totals.down,
                downtime_seconds=uptime.downtime_seconds(totals, monitor.interval_seconds),
                avg_response_ms=totals.avg_ms,
            )
        )
    return result


async def checks(db: AsyncSession, *, monitor_id: int, query: CheckQuery) -> Page[CheckResultRead]:
    """Recent raw results, newest first (only the last ones are kept)."""
    filters = [CheckResult.monitor_id == monitor_id]
    if query.status is not None:
        filters.append(CheckResult.status == query.status.value)
    statement = (
        select(CheckResult)
        .where(*filters)
        .order_by(CheckResult.checked_at.desc(), CheckResult.id.desc())
    )
    return await paging.page_of(
        db, statement, query, Page[CheckResultRead], CheckResultRead.model_validate
    )
