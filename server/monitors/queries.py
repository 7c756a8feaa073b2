"""Read paths over rollups and raw results: uptime figures, metrics, daily uptime, checks.

Uptime and latency come from rollups only, never from scanning raw results
(ARCHITECTURE.md, "Data lifecycle"); the arithmetic lives in uptime.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from server.db import paging
from server.monitors import uptime, windows
from server.monitors.models import CheckResult, MaintenanceWindow, Monitor, MonitorRollup
from shared.api.common import Page
from shared.api.monitors import (
    CheckQuery,
    CheckResultRead,
    DailyUptime,
    MetricsPoint,
    MetricsRange,
    MonitorMetrics,
    MonitorRead,
)


async def uptimes(
    db: AsyncSession, monitor_ids: list[int], *, now: datetime
) -> dict[int, dict[str, float | None]]:
    """uptime_24h/7d/30d of each monitor, in one grouped query (a sum per span and count)."""
    result: dict[int, dict[str, float | None]] = {
        monitor_id: dict.fromkeys(uptime.UPTIME_SPANS) for monitor_id in monitor_ids
    }
    if not monitor_ids:
        return result
    since = {
        f"since_{name}": uptime.window_start(now, span, period)
        for name, (span, period) in uptime.UPTIME_SPANS.items()
    }
    connection = await db.connection()
    rows = await connection.execute(_uptime_sums(), {"ids": monitor_ids, **since})
    for monitor_id, *sums in rows:
        for index, name in enumerate(uptime.UPTIME_SPANS):
            up, down, degraded = sums[3 * index : 3 * index + 3]
            counts = uptime.Totals(up=up or 0, down=down or 0, degraded=degraded or 0)
            result[monitor_id][name] = counts.uptime_pct
    return result


@cache
def _uptime_sums() -> Select[*tuple[Any, ...]]:
    """Built once with bound parameters: building and keying it anew for each page cost
    more than running it."""
    spans = [
        and_(
            MonitorRollup.period == period,
            MonitorRollup.bucket_start >= bindparam(f"since_{name}"),
        )
        for name, (_span, period) in uptime.UPTIME_SPANS.items()
    ]
    sums = [
        func.sum(case((inside, counted)))
        for inside in spans
        for counted in (MonitorRollup.up, MonitorRollup.down, MonitorRollup.degraded)
    ]
    return (
        select(MonitorRollup.monitor_id, *sums)
        .where(MonitorRollup.monitor_id.in_(bindparam("ids", expanding=True)), or_(*spans))
        .group_by(MonitorRollup.monitor_id)
    )


@dataclass(frozen=True)
class MonitorRows:
    """One page of monitors as table rows, with what their reads add to them."""

    # total, has_windows, then the columns of `monitor` a read shows
    rows: Sequence[Row[*tuple[Any, ...]]]
    total: int
    uptimes: dict[int, dict[str, float | None]]
    windows: dict[int, list[MaintenanceWindow]]


# The columns a read shows (MonitorRead), and the heartbeat token its URL is made of; the
# checker's own state (streaks, next check) stays behind.
_READ_COLUMNS = tuple(
    column
    for column in Monitor.__table__.c
    if column.name in MonitorRead.model_fields or column.name == "heartbeat_token"
)


def monitor_page_statement(
    filters: Sequence[ColumnElement[bool]],
    order: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
) -> Select[Any]:
    """The page of monitors `filters` select, in `order`, its window bound as `offset` and
    `limit`: table rows read through Core, not ORM objects (a page of 50 entities costs
    more to build than the statements that read them).

    The total rides on the page's statement as a scalar subquery, and each row says whether
    its monitor has maintenance windows, so windows are read only for those: one statement
    for the page, plus the uptimes, where there were a count, a page and a windows query.
    (`count(*) OVER ()` would cost more: it makes SQLite build every row, not the page's.)
    """
    total = select(func.count()).select_from(Monitor).where(*filters).scalar_subquery()
    return (
        select(
            total.correlate(None).label("total"),
            exists().where(MaintenanceWindow.monitor_id == Monitor.id).label("has_windows"),
            *_READ_COLUMNS,
        )
        .where(*filters)
        .order_by(*order)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


async def monitor_page(
    db: AsyncSession,
    statement: Select[Any],
    params: dict[str, Any],
    *,
    query: paging.PageAsk,
    now: datetime,
) -> MonitorRows:
    """The rows of `monitor_page_statement` for the page `query` asks, with their uptimes
    and maintenance windows."""
    connection = await db.connection()
    window = {"offset": paging.offset_of(query), "limit": query.per_page}
    rows = (await connection.execute(statement, {**params, **window})).all()
    if rows:
        count = int(rows[0].total)
    elif query.page > 1:  # past the last page: no row carries the total; the first does
        first = await connection.execute(statement, {**params, "offset": 0, "limit": 1})
        count = int(first.scalar() or 0)
    else:
        count = 0
    ids = [row.id for row in rows]
    with_windows = [row.id for row in rows if row.has_windows]
    return MonitorRows(
        rows=rows,
        total=count,
        uptimes=await uptimes(db, ids, now=now),
        windows=await windows.windows_of(db, with_windows) if with_windows else {},
    )


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
