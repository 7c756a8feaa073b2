"""One incident: what it is, how long it has been open, and its timeline, live."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from console.formatting import ago, status_text
from console.screens.text_entry import TextEntryScreen
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col, actor_forms, moment_forms
from console.widgets.resource_table import ResourceTable
from shared.api.events import Event, IncidentChanged, IncidentNoteAdded
from shared.api.incidents import IncidentDetail, IncidentStatus

TIMELINE_COLUMNS = (
    Col("WHEN", 80),
    Col("EVENT", 100),
    Col("WHO", 70),
    Col("TEXT", 90, min_width=20),
)


class IncidentDetailScreen(ViewScreen):
    VIEW = "incident"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"acknowledge", "resolve", "note"})
    BINDINGS = [
        Binding("a", "acknowledge", "Ack", id="incident.acknowledge"),
        Binding("r", "resolve", "Resolve", id="incident.resolve"),
        Binding("n", "note", "Note", id="incident.note"),
        Binding("escape", "back", "Back", id="incident.back"),
    ]

    def __init__(self, incident_id: int) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.incident: IncidentDetail | None = None
        self._summary_shown = ""

    def compose_body(self) -> ComposeResult:
        yield Static(f"incident {self.incident_id}", id="incident-summary")
        yield ResourceTable(TIMELINE_COLUMNS, id="timeline")

    def tick(self) -> None:
        self._summarize()  # `opened 5m ago`

    def _summarize(self) -> None:
        incident = self.incident
        if incident is None:
            return
        now = self.upmetr.now()
        colors = self.app.theme_variables
        summary = Text.assemble(
            (f"#{incident.id} {incident.title}\n", "bold"),
            status_text(incident.severity.value, colors),
            "  ",
            status_text(incident.status.value, colors),
            f"  {incident.trigger_type.value}",
            f"  opened {ago(incident.opened_at, now)} ago",
        )
        if incident.duration_seconds is not None:
            summary.append(f"  lasted {ago(incident.opened_at, incident.resolved_at or now)}")
        if incident.description:
            summary.append(f"\n{incident.description}")
        if summary.plain != self._summary_shown:
            self._summary_shown = summary.plain
            self.query_one("#incident-summary", Static).update(summary)

    async def load(self) -> None:
        incident = await self.attempt(self.upmetr.api.incidents.get(self.incident_id))
        if incident is None:
            return
        self.incident = incident
        self._summarize()
        self.query_one(ResourceTable).set_rows(
            [
                (
                    event.id,
                    [
                        moment_forms(event.created_at, seconds=True),
                        event.kind.value,
                        actor_forms(event.actor),
                        event.text or "",
                    ],
                )
                for event in incident.timeline
            ]
        )
        self.refresh_bindings()

    def live(self, event: Event) -> None:
        data = event.data
        if isinstance(data, IncidentChanged | IncidentNoteAdded) and data.id == self.incident_id:
            if data.event_type == "incident.deleted":
                self.notify(f"Incident {self.incident_id} was deleted")
                self.dismiss()
            else:
                self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed or self.incident is None:
            return allowed
        status = self.incident.status
        if action == "acknowledge" and status is not IncidentStatus.open:
            return None
        if action == "resolve" and status is IncidentStatus.resolved:
            return None
        return allowed

    def action_acknowledge(self) -> None:
        self._act("acknowledge")

    def action_resolve(self) -> None:
        self._act("resolve")

    def action_note(self) -> None:
        def add(text: str | None) -> None:
            if text:
                self._note(text)

        self.app.push_screen(TextEntryScreen(f"Note on incident {self.incident_id}"), add)

    @work(group="act")
    async def _act(self, action: str) -> None:
        api = self.upmetr.api.incidents
        call = api.acknowledge if action == "acknowledge" else api.resolve
        await self.attempt(call(self.incident_id), f"Incident {self.incident_id} {action}d")

    @work(group="act")
    async def _note(self, text: str) -> None:
        await self.attempt(self.upmetr.api.incidents.add_note(self.incident_id, text), "Note added")
