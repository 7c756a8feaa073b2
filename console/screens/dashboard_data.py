"""The dashboard's reads, apart from its widgets: the console starts them before Textual is
imported (console/launch.py), so they are plain coroutines over the client.

A load costs a handful of requests whatever the organization's size (the API limits
requests per user): monitor counts come from `/monitors/summary`; incident counts from
one page of a list when it holds everything, else from the list's totals filtered by
status (`per_page=1`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import product

from shared.api.incidents import IncidentRead, IncidentStatus, Severity
from shared.api.monitors import MonitorRead, MonitorStatus
from shared.client import AsyncClient

UNRESOLVED = (IncidentStatus.open, IncidentStatus.acknowledged)
TROUBLE = (MonitorStatus.down.value, MonitorStatus.degraded.value)  # the monitors it lists
LARGEST_PAGE = 200  # the API's: counting from one page is exact up to this many
RECENT = 50  # incidents read for the last hour's changes
HOUR = timedelta(hours=1)


@dataclass
class IncidentsNow:
    items: list[IncidentRead]  # unresolved (all of them when `complete`)
    counts: Counter[str]  # by severity and by status
    complete: bool


@dataclass
class MonitorsNow:
    first_page: list[MonitorRead]
    counts: Counter[str]
    total: int
    trouble: list[MonitorRead]  # down or degraded
    statuses: dict[int, str] | None  # every monitor's, when the first page holds them all


@dataclass
class DashboardNow:
    incidents: IncidentsNow
    monitors: MonitorsNow
    recent: list[IncidentRead]  # unresolved, opened within the hour, lately resolved
    read_at: datetime


async def read_dashboard(
    api: AsyncClient, now: datetime, *, monitor_page: int = LARGEST_PAGE, page: int = LARGEST_PAGE
) -> DashboardNow:
    """Everything the dashboard shows; `monitor_page` is the first monitor page's size (a
    whole page while it may hold every monitor; past that it only feeds the sparklines)."""
    incidents, monitors, opened, resolved = await asyncio.gather(
        read_incidents(api, page=page),
        read_monitors(api, monitor_page, page=page),
        api.incidents.list(from_=now - HOUR, per_page=RECENT),
        api.incidents.list(status=IncidentStatus.resolved, sort="-resolved_at", per_page=RECENT),
    )
    recent = [*incidents.items, *opened.items, *resolved.items]
    return DashboardNow(incidents, monitors, recent, now)


async def read_incidents(api: AsyncClient, *, page: int = LARGEST_PAGE) -> IncidentsNow:
    incidents = api.incidents
    pages = await asyncio.gather(*(incidents.list(status=s, per_page=page) for s in UNRESOLVED))
    counts = Counter(
        {status.value: page.total for status, page in zip(UNRESOLVED, pages, strict=True)}
    )
    items = [item for page in pages for item in page.items]
    complete = all(page.total <= len(page.items) for page in pages)
    if complete:
        counts.update(item.severity.value for item in items)
    else:
        pairs = list(product(UNRESOLVED, Severity))
        totals = await asyncio.gather(
            *(incidents.list(status=s, severity=v, per_page=1) for s, v in pairs)
        )
        for (_, severity), found in zip(pairs, totals, strict=True):
            counts[severity.value] += found.total
    return IncidentsNow(items, counts, complete)


async def read_monitors(
    api: AsyncClient, first_page: int, *, page: int = LARGEST_PAGE
) -> MonitorsNow:
    monitors = api.monitors
    first, summary = await asyncio.gather(monitors.list(per_page=first_page), monitors.summary())
    counts = Counter({status.value: count for status, count in summary.by_status.items()})
    statuses: dict[int, str] | None = None
    if first.total <= len(first.items):
        statuses = {monitor.id: monitor.status.value for monitor in first.items}
        trouble = [monitor for monitor in first.items if monitor.status.value in TROUBLE]
    else:
        # Only the statuses that have monitors are listed: usually none or one request.
        wanted = [status for status in TROUBLE if counts[status]]
        pages = await asyncio.gather(
            *(monitors.list(status=status, per_page=page) for status in wanted)
        )
        trouble = [monitor for found in pages for monitor in found.items]
    return MonitorsNow(first.items, counts, first.total, trouble, statuses)
