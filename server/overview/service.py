"""The overview: what a dashboard's first frame shows, read in one request.

Each part reads its domain through that domain's own functions where one exists (monitor
counts, the cost summary, budget statuses), so the overview and the full reads agree.

1. Monitors: the counts by shown status (monitors.summary), the troubled ones (down, then
   degraded, by name, not paused, not in maintenance), and the latest response times of a
   few monitors for sparklines, the troubled first.
2. Incidents: unresolved counts by status and severity from one grouped query, the newest
   unresolved ones, and those opened, acknowledged or resolved most recently.
3. Agents and notifications: zeros until those domains exist (the shape is fixed now).
4. Costs and budgets over their threshold, only when the plan includes cloud accounts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.plans import org_plan
from server.budgets import service as budgets
from server.costs import queries as costs
from server.incidents.models import Incident
from server.monitors import service as monitors
from server.monitors import windows
from server.monitors.models import CheckResult, Monitor
from shared.api.billing import Limit
from shared.api.budgets import BudgetState, BudgetStatus
from shared.api.incidents import IncidentRead, IncidentStatus, Severity
from shared.api.monitors import MonitorStatus
from shared.api.overview import (
    LIST_LIMIT,
    AgentsOverview,
    CostsOverview,
    IncidentsOverview,
    LatencyPoint,
    MonitorLatency,
    MonitorsOverview,
    Overview,
    OverviewMonitor,
    OverviewQuery,
)

TROUBLE = (MonitorStatus.down.value, MonitorStatus.degraded.value)
QUIET = (MonitorStatus.paused, MonitorStatus.maintenance)  # not checked: drawn last
UNRESOLVED = (IncidentStatus.open.value, IncidentStatus.acknowledged.value)


async def overview(
    db: AsyncSession, *, org_id: int, query: OverviewQuery, now: datetime | None = None
) -> Overview:
    now = now or datetime.now(UTC)
    _, plan = await org_plan(db, org_id)
    # No costs module exists (API.md's modules are status_pages, audit_logs, whitelabel):
    # costs come from cloud accounts, so a plan that allows none has no costs to show.
    with_costs = plan.limits.get(Limit.cloud_accounts) != 0
    return Overview(
        read_at=now,
        monitors=await _monitors(db, org_id=org_id, query=query, now=now),
        incidents=await _incidents(db, org_id=org_id),
        agents=AgentsOverview(),
        costs=await _costs(db, org_id=org_id, now=now) if with_costs else None,
        budgets_over_threshold=(
            await _budgets_over(db, org_id=org_id, now=now) if with_costs else None
        ),
        unread_notifications=0,
    )


# -- monitors ------------------------------------------------------------------------------


async def _monitors(
    db: AsyncSession, *, org_id: int, query: OverviewQuery, now: datetime
) -> MonitorsOverview:
    summary = await monitors.summary(db, org_id=org_id)
    under = await windows.monitors_in_maintenance(db, org_id=org_id, now=now)
    status_rank = case({status: rank for rank, status in enumerate(TROUBLE)}, value=Monitor.status)
    troubled = list(
        await db.scalars(
            select(Monitor)
            .where(
                Monitor.org_id == org_id,
                Monitor.paused.is_(False),
                Monitor.status.in_(TROUBLE),
                Monitor.id.not_in(under),
            )
            .order_by(status_rank, func.lower(Monitor.name), Monitor.id)
            .limit(LIST_LIMIT)
        )
    )
    lines = [_monitor_line(monitor, MonitorStatus(monitor.status)) for monitor in troubled]
    latency = await _latency(db, org_id=org_id, query=query, troubled=lines, under=under)
    return MonitorsOverview(
        total=summary.total, by_status=summary.by_status, troubled=lines, latency=latency
    )


def _monitor_line(monitor: Monitor, status: MonitorStatus) -> OverviewMonitor:
    return OverviewMonitor(
        id=monitor.id,
        name=monitor.name,
        type=monitor.type,
        status=status,
        last_checked_at=monitor.last_checked_at,
        last_response_ms=monitor.last_response_ms,
        last_error=monitor.last_error,
    )


def _shown_status(monitor: Monitor, under: set[int]) -> MonitorStatus:
    """As GET /monitors shows it: paused, then maintenance, then the last verdict."""
    if monitor.paused:
        return MonitorStatus.paused
    if monitor.id in under:
        return MonitorStatus.maintenance
    return MonitorStatus(monitor.status)


async def _latency(
    db: AsyncSession,
    *,
    org_id: int,
    query: OverviewQuery,
    troubled: list[OverviewMonitor],
    under: set[int],
) -> list[MonitorLatency]:
    wanted = query.latency_monitors
    if wanted == 0:
        return []
    picked = [(line.id, line.name, line.status) for line in troubled[:wanted]]
    if len(picked) < wanted:
        # Enough rows to fill the rest even if every monitor in maintenance sorts first.
        taken = {monitor_id for monitor_id, _, _ in picked}
        rows = await db.scalars(
            select(Monitor)
            .where(Monitor.org_id == org_id, Monitor.id.not_in(taken))
            .order_by(Monitor.paused, func.lower(Monitor.name), Monitor.id)
            .limit(wanted + len(under))
        )
        others = [(m.id, m.name, _shown_status(m, under)) for m in rows]
        others.sort(key=lambda item: item[2] in QUIET)  # stable: by name within each
        picked += others[: wanted - len(picked)]
    points = await _latest_results(db, [monitor_id for monitor_id, _, _ in picked], query)
    return [
        MonitorLatency(monitor_id=monitor_id, name=name, status=status, points=points[monitor_id])
        for monitor_id, name, status in picked
    ]


async def _latest_results(
    db: AsyncSession, monitor_ids: list[int], query: OverviewQuery
) -> dict[int, list[LatencyPoint]]:
    """The last `latency_points` results of each monitor, oldest first, in one query (raw
    results are bounded per monitor, and the index on (monitor_id, checked_at) serves it)."""
    found: dict[int, list[LatencyPoint]] = {monitor_id: [] for monitor_id in monitor_ids}
    if not monitor_ids:
        return found
    newest_first = func.row_number().over(
        partition_by=CheckResult.monitor_id,
        order_by=(CheckResult.checked_at.desc(), CheckResult.id.desc()),
    )
    ranked = (
        select(
            CheckResult.monitor_id,
            CheckResult.id,
            CheckResult.response_time_ms,
            newest_first.label("rank"),
        )
        .where(CheckResult.monitor_id.in_(monitor_ids))
        .subquery()
    )
    rows = await db.execute(
        select(ranked.c.monitor_id, ranked.c.id, ranked.c.response_time_ms)
        .where(ranked.c.rank <= query.latency_points)
        .order_by(ranked.c.monitor_id, ranked.c.rank.desc())
    )
    for monitor_id, result_id, response_time_ms in rows:
        found[monitor_id].append(
            LatencyPoint(result_id=result_id, response_time_ms=response_time_ms)
        )
    return found


# -- incidents -----------------------------------------------------------------------------


async def _incidents(db: AsyncSession, *, org_id: int) -> IncidentsOverview:
    unresolved = [Incident.org_id == org_id, Incident.status.in_(UNRESOLVED)]
    grouped = await db.execute(
        select(Incident.status, Incident.severity, func.count())
        .where(*unresolved)
        .group_by(Incident.status, Incident.severity)
    )
    by_status = dict.fromkeys(UNRESOLVED, 0)
    by_severity = dict.fromkeys(Severity, 0)
    for status, severity, count in grouped.all():
        by_status[status] += count
        by_severity[Severity(severity)] += count
    newest = await db.scalars(
        select(Incident)
        .where(*unresolved)
        .order_by(Incident.opened_at.desc(), Incident.id.desc())
        .limit(LIST_LIMIT)
    )
    return IncidentsOverview(
        open=by_status[IncidentStatus.open.value],
        acknowledged=by_status[IncidentStatus.acknowledged.value],
        by_severity=by_severity,
        newest=[IncidentRead.model_validate(incident) for incident in newest],
        recent=await _changed_lately(db, org_id=org_id),
    )


async def _changed_lately(db: AsyncSession, *, org_id: int) -> list[IncidentRead]:
    """The incidents opened, acknowledged or resolved most recently, latest change first.

    The latest 20 of each kind of change hold the latest 20 changes, so one bounded query
    per kind is merged here: the latest of three times is `max(a, b, c)` in SQLite and
    `greatest` in PostgreSQL, and the merge is 60 rows at most. No time window: which
    changes are recent enough to show is the reader's choice, by its own clock.
    """
    found: dict[int, Incident] = {}
    for column in (Incident.opened_at, Incident.acknowledged_at, Incident.resolved_at):
        rows = await db.scalars(
            select(Incident)
            .where(Incident.org_id == org_id, column.is_not(None))
            .order_by(column.desc(), Incident.id.desc())
            .limit(LIST_LIMIT)
        )
        for incident in rows:
            found[incident.id] = incident

    def latest_change(incident: Incident) -> tuple[datetime, int]:
        times = (incident.opened_at, incident.acknowledged_at, incident.resolved_at)
        return max(_utc(at) for at in times if at is not None), incident.id

    ordered = sorted(found.values(), key=latest_change, reverse=True)
    return [IncidentRead.model_validate(incident) for incident in ordered[:LIST_LIMIT]]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# -- costs ---------------------------------------------------------------------------------


async def _costs(db: AsyncSession, *, org_id: int, now: datetime) -> CostsOverview:
    summary = await costs.summary(db, org_id=org_id, account_id=None, today=now.date())
    return CostsOverview(
        current_month=summary.current_month,
        previous_month=summary.previous_month,
        forecast_month_end=summary.forecast_month_end,
        currency=summary.currency,
        last_synced_at=summary.last_synced_at,
    )


async def _budgets_over(db: AsyncSession, *, org_id: int, now: datetime) -> list[BudgetStatus]:
    statuses = await budgets.status_all(db, org_id=org_id, now=now)
    over = [status for status in statuses if status.state is not BudgetState.ok]
    return sorted(over, key=lambda status: (-status.pct_used, status.name))
