"""Monitors: every uptime monitor of the organization with its state and latency trend, live.

Keys: enter detail, c check now, p pause or resume, d delete. Rows change in place on
`monitor.check` and `monitor.status` events; nothing is read again for them. With
thousands of monitors the first MAX_ROWS are shown (the border says how many there are)
and `/` filters those.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from console.formatting import ago, milliseconds, percent, spark, status_text
from console.screens.confirm import ConfirmScreen
from console.screens.monitor_text import check_summary, monitor_target
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.events import (
    Event,
    MonitorChecked,
    MonitorCreated,
    MonitorDeleted,
    MonitorStatusChanged,
)
from shared.api.monitors import CheckResultRead, MonitorRead, MonitorStatus

TREND_POINTS = 12
# Columns that change with every check, at the width of their longest value (a status
# wider than the column's lays the table out again).
LIVE_WIDTHS = {
    "UP 24H": 7,
    "UP 30D": 7,
    "LATENCY": 8,
    "TREND": TREND_POINTS,
    "CHECKED": 7,
}
# What an on-call engineer reads first comes first; a narrow terminal keeps the columns of
# highest priority (console/widgets/column_fit.py).
COLUMNS = (
    Col("STATUS", 100),
    Col("NAME", 95, min_width=10),
    Col("UP 24H", 60, width=LIVE_WIDTHS["UP 24H"]),
    Col("LATENCY", 80, width=LIVE_WIDTHS["LATENCY"]),
    Col("TREND", 40, width=LIVE_WIDTHS["TREND"]),
    Col("CHECKED", 90, width=LIVE_WIDTHS["CHECKED"]),
    Col("UP 30D", 30, width=LIVE_WIDTHS["UP 30D"]),
    Col("TYPE", 65),
    Col("TARGET", 70, min_width=16),
)
# Monitor types by a shorter name where the column is narrow.
SHORT_TYPES = {"heartbeat": "beat", "keyword": "kwd"}
PAGE = 100
# Statuses that win over what the last check said (the server's rule, see MonitorRead.status).
STICKY = {MonitorStatus.paused, MonitorStatus.maintenance}


def target_forms(monitor: MonitorRead) -> tuple[str, ...]:
    """The target, and for a URL its host (and port) alone for narrow columns."""
    target = monitor_target(monitor)
    host = urlsplit(target).netloc.rpartition("@")[2] if "://" in target else None
    return (target, host) if host and host != target else (target,)


def type_forms(monitor: MonitorRead) -> tuple[str, ...]:
    name = monitor.type.value
    return (name, SHORT_TYPES[name]) if name in SHORT_TYPES else (name,)


class LatencyHistory:
    """The last few response times of each monitor for the trend column.

    Seeded from the list's last_response_ms, then fed by live checks; a result arriving
    twice (by event and as a check-now reply) counts once.
    """

    def __init__(self, size: int = TREND_POINTS) -> None:
        self._size = size
        self._values: dict[int, deque[float]] = {}
        self._last_result: dict[int, int] = {}

    def seed(self, monitor_id: int, response_ms: float | None) -> None:
        if response_ms is not None and not self._values.get(monitor_id):
            self._values[monitor_id] = deque([response_ms], maxlen=self._size)

    def record(self, monitor_id: int, result_id: int, response_ms: float | None) -> bool:
        """Add a check's response time; False when this result was seen already."""
        if result_id <= self._last_result.get(monitor_id, 0):
            return False
        self._last_result[monitor_id] = result_id
        if response_ms is not None:
            values = self._values.setdefault(monitor_id, deque(maxlen=self._size))
            values.append(response_ms)
        return True

    def spark(self, monitor_id: int) -> str:
        return spark(list(self._values.get(monitor_id, ())), width=self._size)


def monitor_cells(
    monitor: MonitorRead, trend: str, now: datetime, colors: dict[str, str]
) -> list[Cell]:
    return [
        status_text(monitor.status.value, colors),
        monitor.name,
        percent(monitor.uptime_24h),
        milliseconds(monitor.last_response_ms),
        trend,
        ago(monitor.last_checked_at, now),
        percent(monitor.uptime_30d),
        type_forms(monitor),
        target_forms(monitor),
    ]


def after_check(monitor: MonitorRead, data: MonitorChecked) -> MonitorRead:
    """The monitor as a `monitor.check` event leaves it."""
    changes: dict[str, Any] = {
        "last_checked_at": data.checked_at,
        "last_response_ms": data.response_time_ms,
        "last_error": data.error,
    }
    state = data.monitor_status
    if state and monitor.status not in STICKY:
        changes["status"] = MonitorStatus(state)
    return monitor.model_copy(update=changes)


def after_status(monitor: MonitorRead, status: str) -> MonitorRead:
    new = MonitorStatus(status)
    return monitor.model_copy(update={"status": new, "paused": new is MonitorStatus.paused})


class MonitorsScreen(ViewScreen):
    VIEW = "monitors"
    CSS_PATH = "../styles/monitors.tcss"
    # More rows than this make the table slow and nobody scrolls them; `/` and the API's
    # own filters are the way to find one among thousands.
    MAX_ROWS: ClassVar[int] = 500
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"check_now", "toggle_pause", "delete"})
    BINDINGS = [
        Binding("c", "check_now", "Check now", id="monitors.check_now"),
        Binding("p", "toggle_pause", "Pause/Resume", id="monitors.pause"),
        Binding("d", "delete", "Delete", id="monitors.delete"),
        Binding("enter", "open", "Detail", id="monitors.open", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.monitors: dict[int, MonitorRead] = {}
        self.history = LatencyHistory()
        self.total = 0
        self.deleted: set[int] = set()  # ids never to count or show again

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="monitors")

    def on_mount(self) -> None:
        self.table.follow_time("CHECKED", self._checked)

    def _checked(self) -> list[tuple[int, Cell]]:
        now = self.upmetr.now()
        return [(item.id, ago(item.last_checked_at, now)) for item in self.monitors.values()]

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    @property
    def complete(self) -> bool:
        """Every monitor of the organization is loaded (none left out by MAX_ROWS)."""
        return self.total <= self.MAX_ROWS

    async def load(self) -> None:
        """Page through the list up to MAX_ROWS, showing each page as it arrives."""
        loaded: list[MonitorRead] = []
        number = 1
        while True:
            page = await self.attempt(self.upmetr.api.monitors.list(per_page=PAGE, page=number))
            if page is None:
                return
            loaded.extend(page.items)
            self.total = page.total
            self._show_all(loaded[: self.MAX_ROWS])
            if not page.items or len(loaded) >= min(page.total, self.MAX_ROWS):
                return
            number += 1

    def _show_all(self, monitors: list[MonitorRead]) -> None:
        self.monitors = {monitor.id: monitor for monitor in monitors}
        for monitor in monitors:
            self.history.seed(monitor.id, monitor.last_response_ms)
        now = self.upmetr.now()
        colors = self.app.theme_variables
        self.table.set_rows(
            [
                (item.id, monitor_cells(item, self.history.spark(item.id), now, colors))
                for item in monitors
            ]
        )
        self._title()

    def _title(self) -> None:
        shown = len(self.monitors)
        counted = f"{shown}" if shown == self.total else f"first {shown} of {self.total}"
        self.table.set_title("monitors", counted)

    def live(self, event: Event) -> None:
        self.live_many([event])

    def live_many(self, events: list[Event]) -> None:
        """Apply a burst of events, then draw each monitor they touched once."""
        touched: dict[int, MonitorRead] = {}
        for event in events:
            data = event.data
            if isinstance(data, MonitorDeleted):
                touched.pop(data.monitor_id, None)
                self._forget(data.monitor_id)
                continue
            if not isinstance(data, MonitorChecked | MonitorStatusChanged | MonitorCreated):
                continue
            monitor_id = data.monitor_id
            monitor = touched.get(monitor_id) or self.monitors.get(monitor_id)
            if isinstance(data, MonitorCreated) and monitor is None and not self.complete:
                self.total += 1  # beyond the rows read: counted, not shown
                self._title()
                continue
            if monitor is None:
                if self.complete:  # a monitor created since the list was read
                    self._fetch(monitor_id)
                continue
            if isinstance(data, MonitorCreated):
                continue  # known already: its row came with a check or status before
            if isinstance(data, MonitorChecked):
                self.history.record(monitor_id, data.result_id, data.response_time_ms)
                touched[monitor_id] = after_check(monitor, data)
            else:
                touched[monitor_id] = after_status(monitor, data.status)
        for monitor in touched.values():
            self._show(monitor)

    @work(group="fetch")
    async def _fetch(self, monitor_id: int) -> None:
        monitor = await self.attempt(self.upmetr.api.monitors.get(monitor_id))
        if monitor is not None and monitor.id not in self.monitors:
            self.total += 1
            self.history.seed(monitor.id, monitor.last_response_ms)
            self._show(monitor)

    def _show(self, monitor: MonitorRead) -> None:
        self.monitors[monitor.id] = monitor
        cells = monitor_cells(
            monitor, self.history.spark(monitor.id), self.upmetr.now(), self.app.theme_variables
        )
        self.table.upsert_row(monitor.id, cells)
        self._title()

    def checked(self, monitor_id: int, result: CheckResultRead) -> None:
        """Show a check-now reply at once; its event may follow, or not if the stream is down."""
        monitor = self.monitors.get(monitor_id)
        if monitor is None:
            return
        if self.history.record(monitor_id, result.id, result.response_time_ms):
            self._show(
                monitor.model_copy(
                    update={
                        "last_checked_at": result.checked_at,
                        "last_response_ms": result.response_time_ms,
                        "last_error": result.error,
                    }
                )
            )

    # -- actions -------------------------------------------------------------------------

    def action_open(self) -> None:
        from console.screens.monitor_detail import MonitorDetailScreen

        monitor_id = self.table.current_id
        if monitor_id is not None:
            self.app.push_screen(MonitorDetailScreen(monitor_id))

    def action_check_now(self) -> None:
        monitor_id = self.table.current_id
        if monitor_id is not None:
            self._check_now(monitor_id)

    @work(group="act")
    async def _check_now(self, monitor_id: int) -> None:
        result = await self.attempt(self.upmetr.api.monitors.check_now(monitor_id))
        if result is not None:
            self.notify(check_summary(self.name_of(monitor_id), result))
            self.checked(monitor_id, result)

    def action_toggle_pause(self) -> None:
        monitor = self.monitors.get(self.table.current_id or 0)
        if monitor is not None:
            self._set_paused(monitor.id, not monitor.paused)

    @work(group="act")
    async def _set_paused(self, monitor_id: int, paused: bool) -> None:
        api = self.upmetr.api.monitors
        call = api.pause(monitor_id) if paused else api.resume(monitor_id)
        done = f"{self.name_of(monitor_id)} {'paused' if paused else 'resumed'}"
        monitor = await self.attempt(call, done)
        if monitor is not None:
            self._show(monitor)

    def action_delete(self) -> None:
        monitor = self.monitors.get(self.table.current_id or 0)
        if monitor is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._delete(monitor.id)

        question = f"Delete monitor {monitor.name!r} with its history?"
        self.app.push_screen(ConfirmScreen(question), confirmed)

    @work(group="act")
    async def _delete(self, monitor_id: int) -> None:
        api = self.upmetr.api.monitors

        async def delete() -> bool:  # the reply has no body: True tells success from refusal
            await api.delete(monitor_id)
            return True

        if await self.attempt(delete(), f"{self.name_of(monitor_id)} deleted"):
            self._forget(monitor_id)

    def _forget(self, monitor_id: int) -> None:
        """A deleted monitor leaves the list, once: its live event follows our own delete."""
        if monitor_id in self.deleted:
            return
        self.deleted.add(monitor_id)
        if self.monitors.pop(monitor_id, None) is not None or not self.complete:
            self.total = max(self.total - 1, 0)
        self.table.drop(monitor_id)
        self._title()

    def name_of(self, monitor_id: int) -> str:
        monitor = self.monitors.get(monitor_id)
        return monitor.name if monitor else f"monitor {monitor_id}"
