"""One monitor: its settings and state, recent response times, 90 days of uptime and its
maintenance windows; follows the monitor's live events. Keys: c check now, p pause/resume."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.formatting import ago, milliseconds, percent, short_duration, status_text
from console.screens.monitor_text import check_summary, monitor_target
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col, moment_forms
from console.widgets.latency_chart import LatencyChart, LatencyPoint
from console.widgets.resource_table import Cell, ResourceTable
from console.widgets.uptime_bar import UptimeBar
from shared.api.events import Event, MonitorChecked, MonitorStatusChanged
from shared.api.monitors import (
    CheckResultRead,
    MaintenanceRead,
    MonitorMetrics,
    MonitorRead,
    MonitorStatus,
    MonitorType,
)

MAINTENANCE_COLUMNS = (
    Col("STARTS", 100),
    Col("ENDS", 95),
    Col("REPEATS", 60, min_width=8),
    Col("ZONE", 50),
    Col("NOW", 90),
    Col("REASON", 80, min_width=10),
)
RECENT_CHECKS = 100
UPTIME_DAYS = 90


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def what_it_checks(monitor: MonitorRead) -> str:
    """The check in one line, as its type reads it."""
    target = monitor_target(monitor)
    kind = monitor.type
    if kind is MonitorType.heartbeat:
        return f"expects a ping every {short_duration(monitor.interval_seconds)} at {target}"
    if kind is MonitorType.tcp:
        return f"connects to {target}"
    if kind is MonitorType.dns:
        record = monitor.dns_record_type.value if monitor.dns_record_type else "A"
        line = f"resolves {record} {target}"
        if monitor.dns_expected:
            line += f" expecting {monitor.dns_expected}"
        return line + (f" via {monitor.dns_resolver}" if monitor.dns_resolver else "")
    line = f"{monitor.method.value} {target} expecting {monitor.expected_status}"
    if kind is MonitorType.keyword and monitor.keyword:
        line += f", {'with' if monitor.keyword_present else 'without'} {monitor.keyword!r}"
    if kind is MonitorType.json and monitor.json_path:
        line += f", {monitor.json_path} = {monitor.expected_value!r}"
    return line


def thresholds(monitor: MonitorRead) -> str:
    parts = [
        f"every {short_duration(monitor.interval_seconds)}",
        f"timeout {monitor.timeout_seconds}s",
        f"down after {monitor.failure_threshold} failed",
        f"up after {monitor.recovery_threshold} good",
    ]
    if monitor.type is MonitorType.heartbeat:
        parts.append(f"grace {short_duration(monitor.heartbeat_grace_seconds)}")
    if monitor.degraded_threshold_ms:
        parts.append(f"degraded above {monitor.degraded_threshold_ms} ms")
    if monitor.url and monitor.url.startswith("https:"):
        parts.append(f"SSL warning {monitor.ssl_expiry_days}d before expiry")
    return ", ".join(parts)


def summary_text(
    monitor: MonitorRead, metrics: MonitorMetrics | None, now: datetime, colors: dict[str, str]
) -> Text:
    label = "dim"  # not a colour, so it reads in every theme
    text = Text.assemble(
        (f"#{monitor.id} {monitor.name}  ", "bold"),
        status_text(monitor.status.value, colors),
        f"  {monitor.type.value}",
    )

    def line(name: str, value: str | Text) -> None:
        text.append(f"\n{name:<11}", style=label)
        text.append(value)

    line("checks", what_it_checks(monitor))
    line("rules", thresholds(monitor))
    last = "never"
    if monitor.last_checked_at is not None:
        last = f"{ago(monitor.last_checked_at, now)} ago, {milliseconds(monitor.last_response_ms)}"
    line("last check", last)
    if monitor.last_error:
        line("last error", Text(monitor.last_error, style=colors.get("error", "")))
    if monitor.ssl_expires_at is not None:
        left = (monitor.ssl_expires_at - now).days
        line("SSL expiry", f"{_when(monitor.ssl_expires_at)} UTC ({left} days left)")
    line(
        "uptime",
        f"24h {percent(monitor.uptime_24h)}, 7d {percent(monitor.uptime_7d)}, "
        f"30d {percent(monitor.uptime_30d)}",
    )
    if metrics is not None:
        line(
            "last 24h",
            f"{metrics.checks} checks, {metrics.down} down, {metrics.degraded} degraded, "
            f"avg {milliseconds(metrics.avg_response_ms)}",
        )
    line("tags", ", ".join(monitor.tags) or "-")
    return text


def window_cells(window: MaintenanceRead) -> list[Cell]:
    return [
        moment_forms(window.next_starts_at or window.starts_at),
        moment_forms(window.next_ends_at or window.ends_at),
        window.recurrence or "once",
        window.timezone,
        status_text("maintenance") if window.active else "",
        window.reason or "",
    ]


class MonitorDetailScreen(ViewScreen):
    VIEW = "monitor"
    CSS_PATH = "../styles/monitors.tcss"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"check_now", "toggle_pause"})
    BINDINGS = [
        Binding("c", "check_now", "Check now", id="monitor.check_now"),
        Binding("p", "toggle_pause", "Pause/Resume", id="monitor.pause"),
        Binding("escape", "back", "Back", id="monitor.back"),
    ]

    def __init__(self, monitor_id: int) -> None:
        super().__init__()
        self.monitor_id = monitor_id
        self.monitor: MonitorRead | None = None
        self.metrics: MonitorMetrics | None = None
        self._summary_shown = ""

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="monitor-body"):
            yield Static(f"monitor {self.monitor_id}", id="monitor-summary")
            yield LatencyChart(id="latency")
            yield UptimeBar(id="uptime")
            yield ResourceTable(MAINTENANCE_COLUMNS, id="maintenance")

    @property
    def chart(self) -> LatencyChart:
        return self.query_one(LatencyChart)

    async def load(self) -> None:
        api = self.upmetr.api.monitors
        monitor = await self.attempt(api.get(self.monitor_id))
        if monitor is None:  # gone or unreachable: one complaint, not five
            return
        checks, metrics, days, windows = await asyncio.gather(
            self.attempt(api.checks(self.monitor_id, per_page=RECENT_CHECKS)),
            self.attempt(api.metrics(self.monitor_id, range="24h")),
            self.attempt(api.uptime_daily(self.monitor_id, days=UPTIME_DAYS)),
            self.attempt(api.maintenance.list(self.monitor_id)),
        )
        self.monitor = monitor
        self.metrics = metrics
        self._summarize()
        if checks is not None:
            self.chart.show(LatencyPoint.of(result) for result in checks.items)
        if days is not None:
            self.query_one(UptimeBar).show(days)
        if windows is not None:
            table = self.query_one(ResourceTable)
            table.set_rows([(window.id, window_cells(window)) for window in windows])
            table.set_title("maintenance windows", str(len(windows)))
        self.refresh_bindings()

    def tick(self) -> None:
        self._summarize()  # `last check 43s ago`

    def _summarize(self) -> None:
        if self.monitor is not None:
            now = self.upmetr.now()
            summary = summary_text(self.monitor, self.metrics, now, self.app.theme_variables)
            if summary.plain != self._summary_shown:
                self._summary_shown = summary.plain
                self.query_one("#monitor-summary", Static).update(summary)

    def live(self, event: Event) -> None:
        data = event.data
        if isinstance(data, MonitorChecked) and data.monitor_id == self.monitor_id:
            self.chart.add(
                LatencyPoint(
                    data.result_id,
                    data.checked_at,
                    data.response_time_ms,
                    data.status == MonitorStatus.down.value,
                )
            )
            self.reload()
        elif isinstance(data, MonitorStatusChanged) and data.monitor_id == self.monitor_id:
            self.reload()

    def action_check_now(self) -> None:
        self._check_now()

    @work(group="act")
    async def _check_now(self) -> None:
        result: CheckResultRead | None = await self.attempt(
            self.upmetr.api.monitors.check_now(self.monitor_id)
        )
        if result is not None:
            name = self.monitor.name if self.monitor else f"monitor {self.monitor_id}"
            self.notify(check_summary(name, result))
            self.chart.add(LatencyPoint.of(result))
            self.reload()

    def action_toggle_pause(self) -> None:
        if self.monitor is not None:
            self._set_paused(not self.monitor.paused)

    @work(group="act")
    async def _set_paused(self, paused: bool) -> None:
        api = self.upmetr.api.monitors
        call = api.pause(self.monitor_id) if paused else api.resume(self.monitor_id)
        monitor = await self.attempt(call, f"Monitor {'paused' if paused else 'resumed'}")
        if monitor is not None:
            self.monitor = monitor
            self._summarize()
            self.reload()
