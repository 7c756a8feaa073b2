"""The `monitors` namespace: uptime monitors, their metrics, checks and maintenance windows.

Kept beside resources.py (same `endpoint` style) so each module stays small.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.api.common import Page
from shared.api.monitors import (
    CheckResultRead,
    DailyUptime,
    MaintenanceRead,
    MetricsRange,
    MonitorMetrics,
    MonitorRead,
    MonitorStatus,
    MonitorSummary,
    MonitorType,
)
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint

# Settings a monitor takes besides name and type (see MonitorCreate), passed as keywords.
Settings = Any


def _settings(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Headers may be given as a mapping for convenience; the API takes a list."""
    out = dict(fields)
    headers = out.get("headers")
    if isinstance(headers, Mapping):
        out["headers"] = [{"name": k, "value": v} for k, v in headers.items()]
    return out


class Maintenance(Namespace[M]):
    """Maintenance windows of a monitor (`/monitors/{id}/maintenance`)."""

    @endpoint
    def list(self, monitor_id: int) -> Call[builtins.list[MaintenanceRead]]:
        return Call(
            "GET",
            f"/monitors/{int(monitor_id)}/maintenance",
            parse_as(builtins.list[MaintenanceRead]),
        )

    @endpoint
    def create(
        self,
        monitor_id: int,
        *,
        starts_at: datetime,
        ends_at: datetime | None = None,
        recurrence: str | None = None,
        duration_minutes: int | None = None,
        timezone: str | None = None,
        reason: str | None = None,
    ) -> Call[MaintenanceRead]:
        """One-off (starts_at + ends_at) or recurring (RRULE + duration_minutes)."""
        return Call(
            "POST",
            f"/monitors/{int(monitor_id)}/maintenance",
            parse_as(MaintenanceRead),
            json=body(
                starts_at=starts_at,
                ends_at=ends_at,
                recurrence=recurrence,
                duration_minutes=duration_minutes,
                timezone=timezone,
                reason=reason,
            ),
        )

    @endpoint
    def delete(self, monitor_id: int, window_id: int) -> Call[None]:
        return Call(
            "DELETE", f"/monitors/{int(monitor_id)}/maintenance/{int(window_id)}", no_content
        )


class Monitors(Namespace[M]):
    """Uptime monitors (`/monitors`)."""

    def __init__(self, core: Any) -> None:
        super().__init__(core)
        self.maintenance: Maintenance[M] = Maintenance(core)

    @endpoint
    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        type: MonitorType | str | None = None,
        status: MonitorStatus | str | None = None,
        tag: str | None = None,
        q: str | None = None,
        sort: str | None = None,
    ) -> Call[Page[MonitorRead]]:
        return Call(
            "GET",
            "/monitors",
            parse_as(Page[MonitorRead]),
            params=query(
                page=page, per_page=per_page, type=type, status=status, tag=tag, q=q, sort=sort
            ),
        )

    @endpoint
    def summary(self) -> Call[MonitorSummary]:
        """How many monitors show each status."""
        return Call("GET", "/monitors/summary", parse_as(MonitorSummary))

    @endpoint
    def get(self, monitor_id: int) -> Call[MonitorRead]:
        return Call("GET", f"/monitors/{int(monitor_id)}", parse_as(MonitorRead))

    @endpoint
    def create(
        self, *, name: str, type: MonitorType | str, **settings: Settings
    ) -> Call[MonitorRead]:
        """`settings`: url, host, port, interval_seconds, keyword... as in MonitorCreate."""
        return Call(
            "POST",
            "/monitors",
            parse_as(MonitorRead),
            json=body(name=name, type=type, **_settings(settings)),
        )

    @endpoint
    def update(self, monitor_id: int, **changes: Settings) -> Call[MonitorRead]:
        """Change what is given; None leaves a field as it is."""
        return Call(
            "PATCH",
            f"/monitors/{int(monitor_id)}",
            parse_as(MonitorRead),
            json=body(**_settings(changes)),
        )

    @endpoint
    def delete(self, monitor_id: int) -> Call[None]:
        return Call("DELETE", f"/monitors/{int(monitor_id)}", no_content)

    @endpoint
    def pause(self, monitor_id: int) -> Call[MonitorRead]:
        return Call("POST", f"/monitors/{int(monitor_id)}/pause", parse_as(MonitorRead))

    @endpoint
    def resume(self, monitor_id: int) -> Call[MonitorRead]:
        return Call("POST", f"/monitors/{int(monitor_id)}/resume", parse_as(MonitorRead))

    @endpoint
    def check_now(self, monitor_id: int) -> Call[CheckResultRead]:
        """Run one check at once; returns its stored result."""
        return Call("POST", f"/monitors/{int(monitor_id)}/check-now", parse_as(CheckResultRead))

    @endpoint
    def metrics(self, monitor_id: int, range: MetricsRange = "24h") -> Call[MonitorMetrics]:
        return Call(
            "GET",
            f"/monitors/{int(monitor_id)}/metrics",
            parse_as(MonitorMetrics),
            params=query(range=range),
        )

    @endpoint
    def uptime_daily(self, monitor_id: int, days: int = 90) -> Call[builtins.list[DailyUptime]]:
        return Call(
            "GET",
            f"/monitors/{int(monitor_id)}/uptime/daily",
            parse_as(builtins.list[DailyUptime]),
            params=query(days=days),
        )

    @endpoint
    def checks(
        self,
        monitor_id: int,
        *,
        page: int = 1,
        per_page: int = 50,
        status: MonitorStatus | str | None = None,
    ) -> Call[Page[CheckResultRead]]:
        return Call(
            "GET",
            f"/monitors/{int(monitor_id)}/checks",
            parse_as(Page[CheckResultRead]),
            params=query(page=page, per_page=per_page, status=status),
        )
