"""Status pages (`:status`): the global page first, then each client page, with whether it
is published, how many monitors it shows, whether it needs a token and its subscribers;
below, the monitors of the page under the cursor and its announcements.

Keys (admins): n writes a new announcement on the page under the cursor (a title, then
its text); s moves the announcement under the announcements' cursor to the next state
(investigating, identified, monitoring, resolved); d deletes it after asking. enter on an
announcement shows its steps. tab moves between the tables.

A `status_page.changed` event (a page or an announcement changed, by anyone) reads the
view again, as a monitor added or deleted does; monitors' states follow `monitor.status`
live.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from console.formatting import ago, status_text
from console.screens.channels import state_text
from console.screens.confirm import ConfirmScreen
from console.screens.text_entry import TextEntryScreen
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.events import (
    Event,
    MonitorCreated,
    MonitorDeleted,
    MonitorStatusChanged,
    StatusPageChanged,
)
from shared.api.monitors import MonitorRead
from shared.api.status_pages import GLOBAL_PAGE, AnnouncementRead, AnnouncementState, PageRead

PAGE = 200
GLOBAL_ROW = 0  # the global page's row: client pages are keyed by their ids (from 1)
PAGE_COLUMNS = (
    Col("NAME", 100, min_width=10),
    Col("SLUG", 80, min_width=8),
    Col("STATE", 98, width=5),
    Col("MONITORS", 90, width=8),
    Col("TOKEN", 70, width=5),
    Col("SUBSCRIBERS", 60, width=11),
)
# The status outranks the name: in a narrow pane a name is cut rather than the status left out.
MONITOR_COLUMNS = (
    Col("MONITOR", 90, min_width=10),
    Col("STATUS", 100, width=13),
    Col("24H", 50, width=7),
)
ANNOUNCEMENT_COLUMNS = (
    Col("STATE", 90, width=15),
    Col("TITLE", 100, min_width=12),
    Col("UPDATED", 80, width=7),
)
# The states in the order an incident write-up moves through them.
NEXT_STATE = {
    AnnouncementState.investigating: AnnouncementState.identified,
    AnnouncementState.identified: AnnouncementState.monitoring,
    AnnouncementState.monitoring: AnnouncementState.resolved,
}
# Glyph and theme variable of each announcement state; the word is the state itself.
STATE_STYLES = {
    AnnouncementState.investigating: ("●", "error"),
    AnnouncementState.identified: ("◐", "warning"),
    AnnouncementState.monitoring: ("◇", "accent"),
    AnnouncementState.resolved: ("✓", "success"),
}


def slug_key(page: PageRead) -> str:
    """How announcements and subscribers name a page: its slug, or "global"."""
    return page.slug or GLOBAL_PAGE


def row_of(page: PageRead) -> int:
    return GLOBAL_ROW if page.kind == GLOBAL_PAGE else page.id


def page_cells(page: PageRead, colors: dict[str, str]) -> list[Cell]:
    return [
        page.name,
        page.slug or f"({GLOBAL_PAGE})",
        state_text(page.enabled, colors),
        str(len(page.monitor_ids)),
        "yes" if page.require_token else "no",
        str(page.subscribers),
    ]


def monitor_cells(
    monitor_id: int, monitor: MonitorRead | None, colors: dict[str, str]
) -> list[Cell]:
    if monitor is None:  # deleted, or beyond the monitors read
        return [f"#{monitor_id}", "-", "-"]
    uptime = "-" if monitor.uptime_24h is None else f"{monitor.uptime_24h:.2f}%"
    return [monitor.name, status_text(monitor.status.value, colors), uptime]


def state_cell(state: AnnouncementState, colors: dict[str, str]) -> Text:
    glyph, variable = STATE_STYLES[state]
    return Text(f"{glyph} {state.value}", style=colors.get(variable, ""))


def announcement_cells(
    announcement: AnnouncementRead, now: datetime, colors: dict[str, str]
) -> list[Cell]:
    return [
        state_cell(announcement.state, colors),
        announcement.title,
        ago(announcement.updated_at, now),
    ]


class AnnouncementScreen(ModalScreen[None]):
    """An announcement's steps, oldest first: what the public page shows of it."""

    BINDINGS = [Binding("escape,q,enter", "close", "Close", id="announcement.close")]

    def __init__(self, announcement: AnnouncementRead, now: datetime) -> None:
        super().__init__(classes="dialog-screen")
        self.announcement = announcement
        self.now = now

    def compose(self) -> ComposeResult:
        found = self.announcement
        with Vertical(classes="dialog announcement"):
            yield Static(Text(f"{found.title} ({found.page})"), classes="question")
            with VerticalScroll():
                for step in found.updates:
                    when = f"{ago(step.created_at, self.now)} ago · {step.state.value}\n"
                    yield Static(Text.assemble((when, "bold"), step.body), classes="step")
            yield Static("esc close", classes="keys")

    def action_close(self) -> None:
        self.dismiss(None)


class StatusPagesScreen(ViewScreen):
    VIEW = "status"
    CSS_PATH = "../styles/status.tcss"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"announce", "advance", "delete"})
    BINDINGS = [
        Binding("n", "announce", "Announce", id="status.announce"),
        Binding("s", "advance", "Next state", id="status.advance"),
        Binding("d", "delete", "Delete", id="status.delete"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[int, PageRead] = {}  # by row: the global page at GLOBAL_ROW
        self.monitors: dict[int, MonitorRead] = {}
        self.announcements: dict[int, AnnouncementRead] = {}
        self.shown_page: int | None = None  # the row whose monitors and notes are below

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(PAGE_COLUMNS, id="pages")
        with Horizontal(id="page-detail"):
            yield ResourceTable(MONITOR_COLUMNS, id="page-monitors")
            yield ResourceTable(ANNOUNCEMENT_COLUMNS, id="announcements")

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#pages", ResourceTable)

    @property
    def monitors_table(self) -> ResourceTable:
        return self.query_one("#page-monitors", ResourceTable)

    @property
    def announcements_table(self) -> ResourceTable:
        return self.query_one("#announcements", ResourceTable)

    async def load(self) -> None:
        api = self.upmetr.api
        global_page, clients, announcements, monitors = await asyncio.gather(
            self.attempt(api.status_pages.get()),
            self.attempt(api.status_pages.clients.list(per_page=PAGE)),
            self.attempt(api.status_pages.announcements.list(per_page=PAGE)),
            self.attempt(api.monitors.list(per_page=PAGE)),
        )
        if global_page is None or clients is None:
            return
        pages = [global_page, *clients.items]
        self.pages = {row_of(page): page for page in pages}
        if announcements is not None:
            self.announcements = {item.id: item for item in announcements.items}
        if monitors is not None:
            self.monitors = {monitor.id: monitor for monitor in monitors.items}
        colors = self.app.theme_variables
        self.table.set_rows([(row_of(page), page_cells(page, colors)) for page in pages])
        self.table.set_title("status pages", str(1 + clients.total))
        self.shown_page = None
        self._show_selected()

    def _selected_page(self) -> PageRead | None:
        row = self.table.current_id
        return None if row is None else self.pages.get(row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.table:
            self._show_selected()

    def _show_selected(self) -> None:
        """The monitors and announcements of the page under the cursor, unless shown."""
        page = self._selected_page()
        row = None if page is None else row_of(page)
        if row == self.shown_page:
            return
        self.shown_page = row
        self._draw_detail()

    def _draw_detail(self) -> None:
        page = self.pages.get(self.shown_page) if self.shown_page is not None else None
        colors = self.app.theme_variables
        ids = page.monitor_ids if page else []
        self.monitors_table.set_rows(
            [(mid, monitor_cells(mid, self.monitors.get(mid), colors)) for mid in ids]
        )
        notes = self._notes_of(page)
        now = self.upmetr.now()
        self.announcements_table.set_rows(
            [(note.id, announcement_cells(note, now, colors)) for note in notes]
        )
        name = page.name if page else "-"
        self.monitors_table.set_title(f"monitors of {name}", str(len(ids)))
        still = sum(note.state is not AnnouncementState.resolved for note in notes)
        self.announcements_table.set_title(
            "announcements", str(len(notes)), f": {still} open" if still else ""
        )

    def _notes_of(self, page: PageRead | None) -> list[AnnouncementRead]:
        if page is None:
            return []
        slug = slug_key(page)
        return [note for note in self.announcements.values() if note.page == slug]

    def live_many(self, events: list[Event]) -> None:
        """Monitors' states in place; a monitor added or deleted, or a page or announcement
        changed, reads the view again."""
        changed = False
        for event in events:
            data = event.data
            if isinstance(data, MonitorCreated | MonitorDeleted | StatusPageChanged):
                self.reload()
                return
            if isinstance(data, MonitorStatusChanged) and data.monitor_id in self.monitors:
                monitor = self.monitors[data.monitor_id]
                self.monitors[data.monitor_id] = monitor.model_copy(
                    update={"status": type(monitor.status)(data.status)}
                )
                changed = True
        page = self.pages.get(self.shown_page) if self.shown_page is not None else None
        if changed and page is not None:
            colors = self.app.theme_variables
            for mid in page.monitor_ids:
                if mid in self.monitors:
                    self.monitors_table.upsert_row(
                        mid, monitor_cells(mid, self.monitors[mid], colors)
                    )

    def tick(self) -> None:
        now = self.upmetr.now()
        self.announcements_table.update_column(
            "UPDATED",
            [(note.id, ago(note.updated_at, now)) for note in self.announcements.values()],
        )

    # -- actions -------------------------------------------------------------------------

    def _current_note(self) -> AnnouncementRead | None:
        return self.announcements.get(self.announcements_table.current_id or 0)

    def action_open(self) -> None:
        if self.focused is not self.announcements_table:
            return
        note = self._current_note()
        if note is not None:
            self.app.push_screen(AnnouncementScreen(note, self.upmetr.now()))

    def action_announce(self) -> None:
        page = self._selected_page()
        if page is None:
            return

        def titled(title: str | None) -> None:
            if title:
                question = f"What to tell the readers of {page.name}? ({title})"
                self.app.push_screen(
                    TextEntryScreen(question), lambda body: self._announce(page, title, body)
                )

        self.app.push_screen(TextEntryScreen(f"New announcement on {page.name}: its title"), titled)

    def _announce(self, page: PageRead, title: str, body: str | None) -> None:
        if body:
            self._create(page, title, body)

    @work(group="act")
    async def _create(self, page: PageRead, title: str, body: str) -> None:
        call = self.upmetr.api.status_pages.announcements.create(
            title=title, body=body, page=slug_key(page)
        )
        if await self.attempt(call, f"Announced on {page.name}") is not None:
            self.reload()

    def action_advance(self) -> None:
        note = self._current_note()
        if note is None:
            return
        following = NEXT_STATE.get(note.state)
        if following is None:
            self.notify(f"{note.title} is resolved already", severity="warning")
            return
        self._advance(note, following)

    @work(group="act")
    async def _advance(self, note: AnnouncementRead, state: AnnouncementState) -> None:
        call = self.upmetr.api.status_pages.announcements.update(note.id, state=state)
        changed = await self.attempt(call, f"{note.title}: {state.value}")
        if changed is not None:
            self.announcements[changed.id] = changed
            self._draw_detail()

    def action_delete(self) -> None:
        note = self._current_note()
        if note is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._delete(note)

        question = f"Delete the announcement {note.title!r} from {note.page}?"
        self.app.push_screen(ConfirmScreen(question), confirmed)

    @work(group="act")
    async def _delete(self, note: AnnouncementRead) -> None:
        api = self.upmetr.api.status_pages.announcements

        async def delete() -> bool:  # the reply has no body: True tells success from refusal
            await api.delete(note.id)
            return True

        if await self.attempt(delete(), f"{note.title} deleted"):
            self.announcements.pop(note.id, None)
            self._draw_detail()
