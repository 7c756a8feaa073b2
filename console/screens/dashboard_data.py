"""The dashboard's read, apart from its widgets: the console starts it before Textual is
imported (console/launch.py), so it is a plain coroutine over the client.

A load is one request, `GET /overview`, whatever the organization's size (the API allows
a user 60 requests a minute): counts, the troubled monitors, the newest unresolved
incidents, the last hour's changes and the sparklines' past response times.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.api.incidents import IncidentRead, IncidentStatus
from shared.api.monitors import MonitorStatus
from shared.api.overview import MonitorLatency, Overview, OverviewMonitor
from shared.client import AsyncClient

UNRESOLVED = (IncidentStatus.open, IncidentStatus.acknowledged)
TROUBLE = (MonitorStatus.down.value, MonitorStatus.degraded.value)  # the monitors it lists
SPARK_ROWS = 6  # monitors with a sparkline
SPARK_POINTS = 60  # response times a sparkline keeps (console/widgets/latency_sparks.POINTS)
HOUR = timedelta(hours=1)


@dataclass
class IncidentsNow:
    items: list[IncidentRead]  # unresolved, newest first (all of them when `complete`)
    counts: Counter[str]  # by severity and by status
    complete: bool


@dataclass
class MonitorsNow:
    counts: Counter[str]
    total: int
    trouble: list[OverviewMonitor]  # down or degraded (all of them when `trouble_complete`)
    trouble_complete: bool
    latency: list[MonitorLatency]  # the sparklines' monitors, in order, with past times


@dataclass
class DashboardNow:
    incidents: IncidentsNow
    monitors: MonitorsNow
    recent: list[IncidentRead]  # opened, acknowledged or resolved most recently
    read_at: datetime  # by the console's clock
    unread: int  # the member's unread notifications: the header's count, without a request


async def read_dashboard(
    api: AsyncClient, now: datetime, *, points: int = SPARK_POINTS
) -> DashboardNow:
    """Everything the dashboard shows, from one `GET /overview`, read at `now`."""
    found = await api.overview.get(latency_monitors=SPARK_ROWS, latency_points=points)
    return dashboard_now(found, now)


def dashboard_now(found: Overview, now: datetime) -> DashboardNow:
    incidents = found.incidents
    counts = Counter({severity.value: n for severity, n in incidents.by_severity.items()})
    counts.update({"open": incidents.open, "acknowledged": incidents.acknowledged})
    unresolved = incidents.open + incidents.acknowledged
    monitors = found.monitors
    trouble_total = sum(monitors.by_status[MonitorStatus(status)] for status in TROUBLE)
    return DashboardNow(
        IncidentsNow(incidents.newest, counts, unresolved <= len(incidents.newest)),
        MonitorsNow(
            Counter({status.value: n for status, n in monitors.by_status.items()}),
            monitors.total,
            monitors.troubled,
            trouble_total <= len(monitors.troubled),
            monitors.latency,
        ),
        incidents.recent,
        now,
        found.unread_notifications,
    )
