"""Incidents: the newest first, live; acknowledge, resolve, note, delete, one or many.

Keys: a acknowledge, r resolve, n note, d delete, space mark (bulk), enter detail.
Marked rows are what an action applies to; with none marked, the row under the cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from console.formatting import ago, status_text
from console.screens.confirm import ConfirmScreen
from console.screens.text_entry import TextEntryScreen
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.events import Event, IncidentChanged, IncidentNoteAdded
from shared.api.incidents import BulkActionName, IncidentRead, IncidentStatus

# Columns that change live, at the width of their longest value.
LIVE_WIDTHS = {"SEVERITY": 10, "STATUS": 14, "OPENED": 6}
COLUMNS = (
    Col("ID", 80),
    Col("SEVERITY", 100, width=LIVE_WIDTHS["SEVERITY"]),
    Col("STATUS", 95, width=LIVE_WIDTHS["STATUS"]),
    Col("TITLE", 90, min_width=16),
    Col("TARGET", 40),
    Col("OPENED", 85, width=LIVE_WIDTHS["OPENED"]),
)
PAGE = 100
# Which statuses each action starts from (the server answers 409 for the others).
ACTION_FROM: dict[BulkActionName, set[IncidentStatus]] = {
    "acknowledge": {IncidentStatus.open},
    "resolve": {IncidentStatus.open, IncidentStatus.acknowledged},
    "delete": set(IncidentStatus),
}
PAST: dict[BulkActionName, str] = {
    "acknowledge": "acknowledged",
    "resolve": "resolved",
    "delete": "deleted",
}


def incident_cells(
    incident: IncidentRead, now: datetime, colors: dict[str, str]
) -> list[str | Text]:
    target = f"{incident.target_type} {incident.target_id}" if incident.target_type else "-"
    return [
        str(incident.id),
        status_text(incident.severity.value, colors),
        status_text(incident.status.value, colors),
        incident.title,
        target,
        ago(incident.opened_at, now),
    ]


class IncidentsScreen(ViewScreen):
    VIEW = "incidents"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"acknowledge", "resolve", "note", "delete"}
    )
    BINDINGS = [
        Binding("a", "acknowledge", "Ack", id="incidents.acknowledge"),
        Binding("r", "resolve", "Resolve", id="incidents.resolve"),
        Binding("n", "note", "Note", id="incidents.note"),
        Binding("d", "delete", "Delete", id="incidents.delete"),
        Binding("enter", "open", "Detail", id="incidents.open", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.incidents: dict[int, IncidentRead] = {}
        self.total = 0  # the organization's incidents, the title's count
        self.deleted: set[int] = set()  # ids never to count or show again

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, markable=True, id="incidents")

    def on_mount(self) -> None:
        self.table.follow_time("OPENED", self._opened)

    def _opened(self) -> list[tuple[int, Cell]]:
        now = self.upmetr.now()
        return [(item.id, ago(item.opened_at, now)) for item in self.incidents.values()]

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    async def load(self) -> None:
        page = await self.attempt(self.upmetr.api.incidents.list(per_page=PAGE))
        if page is None:
            return
        self.incidents = {incident.id: incident for incident in page.items}
        now = self.upmetr.now()
        colors = self.app.theme_variables
        self.table.set_rows([(item.id, incident_cells(item, now, colors)) for item in page.items])
        self.total = page.total
        self._title()

    def _title(self) -> None:
        self.table.set_title("incidents", str(self.total))

    def live(self, event: Event) -> None:
        data = event.data
        if not isinstance(data, IncidentChanged | IncidentNoteAdded):
            return
        incident_id = data.id
        if data.event_type == "incident.deleted":
            self.incidents.pop(incident_id, None)
            self.table.drop(incident_id)
            if incident_id not in self.deleted:
                self.deleted.add(incident_id)
                self.total = max(self.total - 1, 0)
                self._title()
        elif incident_id in self.incidents:
            known = self.incidents[incident_id]
            self._show(known.model_copy(update={"status": IncidentStatus(data.status)}))
        else:
            self._fetch(incident_id, opened=data.event_type == "incident.opened")

    @work(group="fetch")
    async def _fetch(self, incident_id: int, *, opened: bool) -> None:
        incident = await self.attempt(self.upmetr.api.incidents.get(incident_id))
        if incident is not None and incident.id not in self.deleted:
            if opened and incident.id not in self.incidents:
                self.total += 1
                self._title()
            self._show(incident, first=True)

    def _show(self, incident: IncidentRead, *, first: bool = False) -> None:
        self.incidents[incident.id] = incident
        cells = incident_cells(incident, self.upmetr.now(), self.app.theme_variables)
        self.table.upsert_row(incident.id, cells, first=first)

    def action_open(self) -> None:
        from console.screens.incident_detail import IncidentDetailScreen

        incident_id = self.table.current_id
        if incident_id is not None:
            self.app.push_screen(IncidentDetailScreen(incident_id))

    def action_acknowledge(self) -> None:
        self.act("acknowledge")

    def action_resolve(self) -> None:
        self.act("resolve")

    def action_delete(self) -> None:
        self.act("delete")

    def action_note(self) -> None:
        incident_id = self.table.current_id
        if incident_id is None:
            return

        def add(text: str | None) -> None:
            if text:
                self._add_note(incident_id, text)

        self.app.push_screen(TextEntryScreen(f"Note on incident {incident_id}"), add)

    @work(group="act")
    async def _add_note(self, incident_id: int, text: str) -> None:
        await self.attempt(self.upmetr.api.incidents.add_note(incident_id, text), "Note added")

    def act(self, action: BulkActionName) -> None:
        """Ask first when it deletes or touches several incidents; then do it."""
        ids = [i for i in self.table.selected_ids if self._allows(i, action)]
        if not ids:
            self.notify(f"Nothing here can be {PAST[action]}", severity="warning")
            return
        if action == "delete" or len(ids) > 1:
            what = f"incident {ids[0]}" if len(ids) == 1 else f"{len(ids)} incidents"

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._run(action, ids)

            self.app.push_screen(ConfirmScreen(f"{action.capitalize()} {what}?"), confirmed)
        else:
            self._run(action, ids)

    def _allows(self, incident_id: int, action: BulkActionName) -> bool:
        incident = self.incidents.get(incident_id)
        return incident is not None and incident.status in ACTION_FROM[action]

    @work(group="act")
    async def _run(self, action: BulkActionName, ids: list[int]) -> None:
        api = self.upmetr.api.incidents
        if len(ids) == 1:
            done = f"Incident {ids[0]} {PAST[action]}"
            if action == "acknowledge":
                await self.attempt(api.acknowledge(ids[0]), done)
            elif action == "resolve":
                await self.attempt(api.resolve(ids[0]), done)
            else:
                await self.attempt(api.delete(ids[0]), done)
        else:
            outcomes = await self.attempt(api.bulk(ids, action))
            if outcomes is not None:
                succeeded = sum(outcome.ok for outcome in outcomes)
                failed = [f"{o.id}: {o.detail}" for o in outcomes if not o.ok]
                self.notify(
                    f"{succeeded} of {len(ids)} {PAST[action]}"
                    + "".join(f"\n{line}" for line in failed),
                    severity="warning" if failed else "information",
                )
            self.table.marked.clear()
            self.reload()
