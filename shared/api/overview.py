"""The overview: one read for a dashboard's first frame (`GET /overview`).

Counts and short lists of what is wrong now, from which a console draws its home view and
then follows live events; parts the organization's plan does not include are null.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shared.api.budgets import BudgetStatus
from shared.api.common import ApiModel, ReadModel, UtcDatetime
from shared.api.incidents import IncidentRead, Severity
from shared.api.monitors import MonitorStatus

LIST_LIMIT = 20  # the troubled monitors, the newest incidents, the last hour's changes


class OverviewQuery(ApiModel):
    latency_monitors: int = Field(
        6, ge=0, le=LIST_LIMIT, description="monitors with recent response times (sparklines)"
    )
    latency_points: int = Field(60, ge=1, le=200, description="response times per monitor")


class OverviewMonitor(ReadModel):
    id: int
    name: str
    type: str
    status: MonitorStatus
    last_checked_at: UtcDatetime | None
    last_response_ms: int | None
    last_error: str | None


class LatencyPoint(ReadModel):
    result_id: int
    response_time_ms: int | None = Field(description="null when the check failed")


class MonitorLatency(ReadModel):
    monitor_id: int
    name: str
    status: MonitorStatus
    points: list[LatencyPoint] = Field(description="the latest checks, oldest first")


class MonitorsOverview(ReadModel):
    total: int
    by_status: dict[MonitorStatus, int] = Field(description="every status, zeros included")
    troubled: list[OverviewMonitor] = Field(
        description="down, then degraded, by name; at most 20 (by_status has their counts)"
    )
    latency: list[MonitorLatency] = Field(
        description="`latency_monitors` monitors: the troubled first, then the checked ones "
        "by name, paused and in maintenance last"
    )


class IncidentsOverview(ReadModel):
    open: int
    acknowledged: int
    by_severity: dict[Severity, int] = Field(
        description="unresolved (open or acknowledged) incidents; every severity, zeros included"
    )
    newest: list[IncidentRead] = Field(description="unresolved, newest opened first; at most 20")
    recent: list[IncidentRead] = Field(
        description="the 20 incidents opened, acknowledged or resolved most recently, "
        "resolved ones included, latest change first (a dashboard's change log)"
    )


class AgentsOverview(ReadModel):
    """Infra agents by last contact (all zeros until agents report to this server)."""

    total: int = 0
    online: int = 0
    offline: int = 0


class CostsOverview(ReadModel):
    current_month: Decimal = Field(description="this month to date")
    previous_month: Decimal
    forecast_month_end: Decimal | None = Field(description="null while history is too short")
    currency: str
    last_synced_at: UtcDatetime | None


class Overview(ReadModel):
    read_at: UtcDatetime = Field(description="when the figures were read (server time)")
    monitors: MonitorsOverview
    incidents: IncidentsOverview
    agents: AgentsOverview
    costs: CostsOverview | None = Field(
        description="null when the plan includes no cloud accounts (no costs to follow)"
    )
    budgets_over_threshold: list[BudgetStatus] | None = Field(
        description="budgets at or past their alert threshold this period, the most used "
        "first; null when the plan includes no cloud accounts"
    )
    unread_notifications: int = Field(description="in-app notifications not read yet")
