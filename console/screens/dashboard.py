"""The console's home, an on-call overview: what is wrong now and what changed lately, live.

Left: unresolved incidents by severity and status, the newest of them, the last hour's
changes. Right: monitors by status, the ones down or degraded, response-time sparklines
of a few monitors (the troubled ones first). Keys: enter opens the incident or monitor
under the cursor, tab moves between the two lists.

What it reads is in dashboard_data.py: one `GET /overview`. Live events then change what
is shown at once. It reads again (at most every 10 s) only for what an event does not say:
an incident leaving a list that did not hold every unresolved one, or a monitor changing
from a status the counts have none of (one created since the read).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.timer import Timer
from textual.widget import Widget

from console.screens.dashboard_data import (
    HOUR,
    SPARK_ROWS,
    TROUBLE,
    UNRESOLVED,
    DashboardNow,
    IncidentsNow,
    MonitorsNow,
    read_dashboard,
)
from console.screens.view import ViewScreen
from console.widgets.change_log import ChangeLog
from console.widgets.counter_tile import CounterTile
from console.widgets.latency_sparks import POINTS, Followed, LatencySparks
from console.widgets.resource_table import ResourceTable
from console.widgets.trouble_list import MonitorLine, TroubleList, monitor_change
from console.widgets.unresolved_list import IncidentLine, UnresolvedList, incident_change
from shared.api.events import (
    Event,
    IncidentChanged,
    MonitorChecked,
    MonitorCreated,
    MonitorDeleted,
    MonitorStatusChanged,
)
from shared.api.incidents import IncidentRead

INCIDENT_TILES = ("critical", "error", "warning", "info", "open", "acknowledged")
MONITOR_TILES = ("up", "down", "degraded", "paused", "maintenance", "pending")
# Counts move with each event at once; a re-read for what events do not say waits, as the
# API allows a user 60 requests a minute and an incident storm sends many events.
REFETCH_SECONDS = 10.0


class DashboardScreen(ViewScreen):
    VIEW = "dashboard"
    CSS_PATH = "../styles/dashboard.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    # Not in the footer, in any view: a focused table's own enter (it opens the row, through
    # RowSelected) hides this one there, so the footer offered it only while no table had
    # the focus yet, and which it showed depended on timing. Help lists it.
    BINDINGS = [Binding("enter", "open", "Detail", id="dashboard.open", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.incidents_complete = True
        self.incident_counts: Counter[str] = Counter()
        self.monitor_counts: Counter[str] = Counter()
        self.monitors_total = 0
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
        read = started or read_dashboard(self.upmetr.api, self.upmetr.now(), points=POINTS)
        loaded: DashboardNow | None = await self.attempt(read)
        if loaded is None:
            return
        self.upmetr.unread = loaded.unread
        for panel in self._panels:
            panel.loading = False
        self._show_incidents(loaded.incidents)
        self._show_monitors(loaded.monitors)
        self._past_hour(loaded.recent, loaded.read_at)

    @property
    def _panels(self) -> tuple[Widget, ...]:
        return (self.unresolved, self.troubled, self.changes, self.sparks)

    def first_load_pending(self) -> None:
        # "nothing changed in the last hour" and "no monitors to follow" before anything was
        # read looked like a quiet organization on a live console.
        for panel in self._panels:
            panel.loading = True

    def _reread_soon(self) -> None:
        """Read the overview again in a while, once for a burst of events."""
        if self._refetch is None:
            self._refetch = self.set_timer(REFETCH_SECONDS, self._refetch_now)

    def _refetch_now(self) -> None:
        self._refetch = None
        self.reload()

    async def _seed(self, monitor_ids: list[int]) -> None:
        """Past response times of monitors followed since the load (gone wrong since)."""
        if not monitor_ids:
            return
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
        self.monitors_total = monitors.total
        self._draw_monitor_counts()
        self.troubled.show(
            MonitorLine(m.id, m.name, m.status.value, m.last_checked_at, m.last_error)
            for m in monitors.trouble
        )
        # The server picked them: the troubled first, paused and in maintenance last.
        followed = monitors.latency
        self.sparks.follow([Followed(m.monitor_id, m.name, m.status.value) for m in followed])
        for monitor in followed:
            points = [(point.result_id, point.response_time_ms) for point in monitor.points]
            self.sparks.seed(monitor.monitor_id, points)

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
        data = event.data
        if isinstance(data, MonitorChecked):
            self.sparks.record(data.monitor_id, data.result_id, data.response_time_ms)
            self.troubled.checked(data.monitor_id, data.checked_at, data.error)
        elif isinstance(data, MonitorStatusChanged):
            self._flipped(data, event.id)
        elif isinstance(data, MonitorCreated | MonitorDeleted):
            self._came_or_went(data)
        elif isinstance(data, IncidentChanged):
            self._incident_changed(data.event_type.removeprefix("incident."), data)

    def _flipped(self, data: MonitorStatusChanged, event_id: int) -> None:
        """A monitor changed status: move it between the counts, the list and the log."""
        monitor_id, name, status = data.monitor_id, data.name, data.status
        previous = data.previous_status or ""
        if self.monitor_counts[previous] > 0:
            self.monitor_counts[previous] -= 1
            self.monitor_counts[status] += 1
        else:
            # No monitor was counted with that status: one created (or changed) since the
            # read, which no event announced. The counts are read again.
            self._reread_soon()
        self._draw_monitor_counts()
        if self.troubled.flipped(monitor_id, name, status) or (
            status in TROUBLE and monitor_id not in self.sparks.monitor_ids
        ):
            self.sparks.put_first(Followed(monitor_id, name, status))
            self._seed_later(self.sparks.unseeded())
        self.sparks.set_status(monitor_id, status)
        change = monitor_change(name, status, previous or "?", self.app.theme_variables)
        self.changes.add(("monitor", monitor_id, event_id), self.upmetr.now(), change)

    def _came_or_went(self, data: MonitorCreated | MonitorDeleted) -> None:
        """A monitor was created or deleted: count it in or out of its status, and a deleted
        one leaves the list of troubled monitors and the latency rows."""
        monitor_id, status = data.monitor_id, data.status
        if isinstance(data, MonitorCreated):
            self.monitor_counts[status] += 1
            self.monitors_total += 1
        else:
            if self.monitor_counts[status] > 0:
                self.monitor_counts[status] -= 1
            self.monitors_total = max(self.monitors_total - 1, 0)
            self.troubled.flipped(monitor_id, data.name, "deleted")
            if monitor_id in self.sparks.monitor_ids:
                self.sparks.follow(
                    [item for item in self.sparks.followed if item.monitor_id != monitor_id]
                )
        self._draw_monitor_counts()

    def _incident_changed(self, kind: str, data: IncidentChanged) -> None:
        """Show the change at once, then re-read the counts (soon, once for a burst)."""
        incident_id = data.id
        known = self.unresolved.lines.get(incident_id)
        line = IncidentLine(
            incident_id,
            data.title,
            data.severity,
            data.status,
            known.opened_at if known else self.upmetr.now(),
        )
        if not self.incidents_complete:  # counted from totals: move them
            # A deleted incident's event says its status; a resolved one not listed was
            # most likely open (the re-read below corrects it).
            before = data.status if kind == "deleted" else "open"
            self._move_incident_counts(kind, line, known.status if known else before)
            if kind in ("resolved", "deleted"):
                # The list lacks the next unresolved incident to take this one's place (and,
                # for one not listed, what it was before): read again.
                self._reread_soon()
        if kind == "deleted":
            self.unresolved.forget(incident_id)
        else:
            self.unresolved.put(line)
        if kind in ("opened", "acknowledged", "resolved"):
            text = incident_change(kind, line, self.app.theme_variables)
            self.changes.add(("incident", kind, incident_id), self.upmetr.now(), text)
        self._draw_incident_counts()

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
