"""The console's home, an on-call overview: what is wrong now and what changed lately, live.

Left: unresolved incidents by severity and status, the newest of them, the last hour's
changes. Right: monitors by status, the ones down or degraded, response-time sparklines
of a few monitors (the troubled ones first). Keys: enter opens the incident or monitor
under the cursor, tab moves between the two lists.

What it reads is in dashboard_data.py. Live events change what is shown at once; incident
events also re-read the incident counts, at most every 10 s.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.timer import Timer

from console.screens.dashboard_data import (
    HOUR,
    LARGEST_PAGE,
    TROUBLE,
    UNRESOLVED,
    DashboardNow,
    IncidentsNow,
    MonitorsNow,
    read_dashboard,
    read_incidents,
)
from console.screens.view import ViewScreen
from console.widgets.change_log import ChangeLog
from console.widgets.counter_tile import CounterTile
from console.widgets.latency_sparks import POINTS, Followed, LatencySparks
from console.widgets.resource_table import ResourceTable
from console.widgets.trouble_list import MonitorLine, TroubleList, monitor_change
from console.widgets.unresolved_list import IncidentLine, UnresolvedList, incident_change
from shared.api.events import Event
from shared.api.incidents import IncidentRead
from shared.api.monitors import MonitorStatus

INCIDENT_TILES = ("critical", "error", "warning", "info", "open", "acknowledged")
MONITOR_TILES = ("up", "down", "degraded", "paused", "maintenance", "pending")
QUIET = (MonitorStatus.paused, MonitorStatus.maintenance)  # no checks to draw
SPARK_ROWS = 6
# Counts move with each event at once; the exact re-read waits, as the API allows a user
# 60 requests a minute and an incident storm sends many events.
REFETCH_SECONDS = 10.0


class DashboardScreen(ViewScreen):
    VIEW = "dashboard"
    CSS_PATH = "../styles/dashboard.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    # Counting from one page is exact up to this many; past it, from the API's totals.
    PAGE: ClassVar[int] = LARGEST_PAGE
    BINDINGS = [Binding("enter", "open", "Detail", id="dashboard.open")]

    def __init__(self) -> None:
        super().__init__()
        self.incidents_complete = True
        self.incident_counts: Counter[str] = Counter()
        self.monitor_counts: Counter[str] = Counter()
        self.monitor_statuses: dict[int, str] | None = None
        self.monitors_total = 0
        # A whole page while it holds every monitor; past that a page only feeds the sparklines.
        self._monitor_page = self.PAGE
        self._refetch: Timer | None = None

    def compose_body(self) -> ComposeResult:
        clock = self.upmetr.now
        with Horizontal(id="dashboard"):
            with Vertical(classes="column"):
                with Grid(id="incident-counts", classes="counts"):
                    for name in INCIDENT_TILES:
                        yield CounterTile(name, id=f"incidents-{name}")
                yield UnresolvedList(clock, id="unresolved")
                yield ChangeLog(clock, id="changes")
            with Vertical(classes="column"):
                with Grid(id="monitor-counts", classes="counts"):
                    for name in MONITOR_TILES:
                        yield CounterTile(name, id=f"monitors-{name}")
                yield TroubleList(clock, id="troubled")
                yield LatencySparks(SPARK_ROWS, id="latency")

    def on_mount(self) -> None:
        self.query_one("#incident-counts").border_title = "incidents"
        self.query_one("#monitor-counts").border_title = "monitors"
        self.unresolved.border_title = "unresolved"
        self.troubled.border_title = "down or degraded"
        self.changes.border_title = "last hour"
        self.sparks.border_title = "latency"

    @property
    def unresolved(self) -> UnresolvedList:
        return self.query_one(UnresolvedList)

    @property
    def troubled(self) -> TroubleList:
        return self.query_one(TroubleList)

    @property
    def changes(self) -> ChangeLog:
        return self.query_one(ChangeLog)

    @property
    def sparks(self) -> LatencySparks:
        return self.query_one(LatencySparks)

    # -- reading -------------------------------------------------------------------------

    def organization_changed(self) -> None:
        self.changes.clear()  # the other organization's
        self.reload()

    async def load(self) -> None:
        # The console's first load was started before the app existed (console/launch.py).
        started = self.upmetr.take_early_read(self.VIEW)
        read = started or read_dashboard(
            self.upmetr.api, self.upmetr.now(), monitor_page=self._monitor_page, page=self.PAGE
        )
        loaded: DashboardNow | None = await self.attempt(read)
        if loaded is None:
            return
        self._monitor_page = self.PAGE if loaded.monitors.total <= self.PAGE else SPARK_ROWS
        self._show_incidents(loaded.incidents)
        self._show_monitors(loaded.monitors)
        self._past_hour(loaded.recent, loaded.read_at)
        # Past response times come after: the view's first frame waits for its load.
        self._seed_later(self.sparks.unseeded())

    @work(exclusive=True, group="incident-counts")
    async def _reread_incidents(self) -> None:
        incidents = await self.attempt(read_incidents(self.upmetr.api, page=self.PAGE))
        if incidents is not None:
            self._show_incidents(incidents)

    async def _seed(self, monitor_ids: list[int]) -> None:
        """Past response times of newly followed monitors."""
        api = self.upmetr.api.monitors
        reads = asyncio.gather(*(api.checks(i, per_page=POINTS) for i in monitor_ids))
        pages = await self.attempt(reads)
        if pages is None:
            return
        for monitor_id, page in zip(monitor_ids, pages, strict=True):
            self.sparks.seed(monitor_id, [(r.id, r.response_time_ms) for r in page.items])

    @work(group="seed")
    async def _seed_later(self, monitor_ids: list[int]) -> None:
        await self._seed(monitor_ids)

    # -- showing -------------------------------------------------------------------------

    def _show_incidents(self, incidents: IncidentsNow) -> None:
        self.incidents_complete = incidents.complete
        self.incident_counts = incidents.counts
        self.unresolved.show(incidents.items)
        self._draw_incident_counts()

    def _draw_incident_counts(self) -> None:
        if self.incidents_complete:  # every unresolved one is listed: count them as they change
            self.incident_counts = self.unresolved.counts()
        for name in INCIDENT_TILES:
            self.query_one(f"#incidents-{name}", CounterTile).count = self.incident_counts[name]
        unresolved = sum(self.incident_counts[status.value] for status in UNRESOLVED)
        self.query_one("#incident-counts").border_title = f"incidents: {unresolved} unresolved"
        self.unresolved.set_total(unresolved)

    def _show_monitors(self, monitors: MonitorsNow) -> None:
        self.monitor_counts = monitors.counts
        self.monitor_statuses = monitors.statuses
        self.monitors_total = monitors.total
        self._draw_monitor_counts()
        self.troubled.show([MonitorLine.of(monitor) for monitor in monitors.trouble])
        picks = [Followed(line.id, line.name, line.status) for line in self.troubled.lines.values()]
        quiet_last = sorted(monitors.first_page, key=lambda monitor: monitor.status in QUIET)
        picks += [
            Followed(monitor.id, monitor.name, monitor.status.value)
            for monitor in quiet_last
            if monitor.id not in self.troubled.lines
        ]
        self.sparks.follow(picks)

    def _draw_monitor_counts(self) -> None:
        for name in MONITOR_TILES:
            self.query_one(f"#monitors-{name}", CounterTile).count = self.monitor_counts[name]
        self.query_one("#monitor-counts").border_title = f"monitors: {self.monitors_total}"

    def _past_hour(self, incidents: list[IncidentRead], now: datetime) -> None:
        """Incidents opened, acknowledged or resolved within the hour, as read from the API."""
        colors = self.app.theme_variables
        since = now - HOUR
        for incident in incidents:
            line = IncidentLine.of(incident)
            for kind, at in (
                ("opened", incident.opened_at),
                ("acknowledged", incident.acknowledged_at),
                ("resolved", incident.resolved_at),
            ):
                if at is not None and at >= since:
                    text = incident_change(kind, line, colors)
                    self.changes.add(("incident", kind, line.id), at, text)

    # -- live ----------------------------------------------------------------------------

    def live(self, event: Event) -> None:
        if event.type == "monitor.check":
            data = event.data
            monitor_id = int(data["monitor_id"])
            self.sparks.record(monitor_id, int(data["result_id"]), data.get("response_time_ms"))
            checked_at = datetime.fromisoformat(data["checked_at"])
            self.troubled.checked(monitor_id, checked_at, data.get("error"))
        elif event.type == "monitor.status":
            self._flipped(event.data, event.id)
        elif event.type.startswith("incident.") and "id" in event.data:
            self._incident_changed(event.type.removeprefix("incident."), event.data)

    def _flipped(self, data: dict[str, Any], event_id: int) -> None:
        """A monitor changed status: move it between the counts, the list and the log."""
        monitor_id = int(data["monitor_id"])
        name, status = str(data.get("name", monitor_id)), str(data["status"])
        previous = str(data.get("previous_status") or "")
        if self.monitor_statuses is not None:
            # Every monitor is known: setting its status counts an event heard twice (during
            # a load, then replayed after it) once.
            self.monitor_statuses[monitor_id] = status
            self.monitor_counts = Counter(self.monitor_statuses.values())
            self.monitors_total = len(self.monitor_statuses)
        else:  # counted from totals: move one; the next load puts any slip right
            if previous:
                self.monitor_counts[previous] = max(self.monitor_counts[previous] - 1, 0)
            self.monitor_counts[status] += 1
        self._draw_monitor_counts()
        if self.troubled.flipped(monitor_id, name, status) or (
            status in TROUBLE and monitor_id not in self.sparks.monitor_ids
        ):
            self.sparks.put_first(Followed(monitor_id, name, status))
            self._seed_later(self.sparks.unseeded())
        self.sparks.set_status(monitor_id, status)
        change = monitor_change(name, status, previous or "?", self.app.theme_variables)
        self.changes.add(("monitor", monitor_id, event_id), self.upmetr.now(), change)

    def _incident_changed(self, kind: str, data: dict[str, Any]) -> None:
        """Show the change at once, then re-read the counts (soon, once for a burst)."""
        if kind == "note":
            return
        incident_id = int(data["id"])
        known = self.unresolved.lines.get(incident_id)
        line = IncidentLine(
            incident_id,
            str(data.get("title") or (known.title if known else "")),
            str(data.get("severity") or (known.severity if known else "")),
            str(data.get("status") or (known.status if known else "")),
            known.opened_at if known else self.upmetr.now(),
        )
        if not self.incidents_complete:  # counted from totals: move them; the re-read corrects
            self._move_incident_counts(kind, line, known.status if known else "open")
        if kind == "deleted":
            self.unresolved.forget(incident_id)
        else:
            self.unresolved.put(line)
        if kind in ("opened", "acknowledged", "resolved"):
            text = incident_change(kind, line, self.app.theme_variables)
            self.changes.add(("incident", kind, incident_id), self.upmetr.now(), text)
        self._draw_incident_counts()
        if self._refetch is None:
            self._refetch = self.set_timer(REFETCH_SECONDS, self._refetch_incidents)

    def _move_incident_counts(self, kind: str, line: IncidentLine, previous: str) -> None:
        counts = self.incident_counts
        if kind == "opened":
            counts[line.severity] += 1
            counts["open"] += 1
        elif kind == "acknowledged":
            counts["open"] = max(counts["open"] - 1, 0)
            counts["acknowledged"] += 1
        elif kind in ("resolved", "deleted") and previous in ("open", "acknowledged"):
            counts[line.severity] = max(counts[line.severity] - 1, 0)
            counts[previous] = max(counts[previous] - 1, 0)

    def _refetch_incidents(self) -> None:
        self._refetch = None
        self._reread_incidents()

    # -- keys ----------------------------------------------------------------------------

    def action_open(self) -> None:
        # Imported here: the details (and plotext) are not needed for the first frame.
        from console.screens.incident_detail import IncidentDetailScreen
        from console.screens.monitor_detail import MonitorDetailScreen

        focused = self.focused
        table = focused if isinstance(focused, ResourceTable) else self.unresolved
        row_id = table.current_id
        if row_id is None:
            return
        if table is self.unresolved:
            self.app.push_screen(IncidentDetailScreen(row_id))
        else:
            self.app.push_screen(MonitorDetailScreen(row_id))
