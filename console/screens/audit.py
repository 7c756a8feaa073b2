"""The audit log: who did what, from where, newest first, a page at a time (superadmins).

Keys: `]` next page, `[` previous page, enter one entry in full, `/` filters the page shown.
No live event announces an audit entry, so the view reads the log when it is shown, on
ctrl+r and at the fallback poll.
"""

from __future__ import annotations

import math
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.formatting import ago, status_text
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col, actor_forms, moment_forms
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.audit import AuditLogRead

COLUMNS = (
    Col("WHEN", 85),
    Col("ACTOR", 95),
    Col("ACTION", 100),
    Col("RESOURCE", 80),
    Col("STATUS", 90),
    Col("IP", 30),
)
PER_PAGE = 50  # the API takes 25, 50 or 100
SYSTEM = "system"  # the actor of what the server did on its own (no user)


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def resource(entry: AuditLogRead) -> str:
    if entry.resource_type is None:
        return "-"
    return (
        f"{entry.resource_type} {entry.resource_id}" if entry.resource_id else entry.resource_type
    )


def outcome(entry: AuditLogRead, colors: dict[str, str]) -> Text:
    if entry.status == "failed":  # the API's word; the console's glyphs know "failure"
        return Text("✗ failed", style=colors.get("error", ""))
    return status_text(entry.status, colors)


def audit_cells(entry: AuditLogRead, colors: dict[str, str]) -> list[Cell]:
    return [
        moment_forms(entry.created_at, seconds=True),
        actor_forms(entry.user_email or SYSTEM),
        entry.action,
        resource(entry),
        outcome(entry, colors),
        entry.ip or "-",
    ]


class AuditScreen(ViewScreen):
    VIEW = "audit"
    BINDINGS = [
        Binding("enter", "open", "Detail", id="audit.open", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", id="audit.next"),
        Binding("left_square_bracket", "page(-1)", "Previous page", id="audit.previous"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page = 1
        self.pages = 1
        self.entries: dict[int, AuditLogRead] = {}

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="audit")

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    async def load(self) -> None:
        api = self.upmetr.api.audit_logs
        page = await self.attempt(api.list(page=self.page, per_page=PER_PAGE))
        if page is None:
            return
        self.pages = max(1, math.ceil(page.total / PER_PAGE))
        if self.page > self.pages:  # past the end: the log of the org switched to is shorter
            self.page = self.pages
            page = await self.attempt(api.list(page=self.page, per_page=PER_PAGE))
            if page is None:
                return
        self.entries = {entry.id: entry for entry in page.items}
        colors = self.app.theme_variables
        self.table.set_rows([(entry.id, audit_cells(entry, colors)) for entry in page.items])
        self.table.set_title("audit log", str(page.total), f"  page {self.page} of {self.pages}")

    def action_page(self, step: int) -> None:
        wanted = self.page + step
        if not 1 <= wanted <= self.pages:
            self.notify("No newer entries" if step < 0 else "No older entries")
            return
        self.page = wanted
        self.reload()

    def action_open(self) -> None:
        entry_id = self.table.current_id
        if entry_id is not None and entry_id in self.entries:
            self.app.push_screen(AuditEntryScreen(self.entries[entry_id], self.upmetr.now()))


class AuditEntryScreen(ModalScreen[None]):
    """One entry in full: the fields the table shortens or leaves out (agent, detail)."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="audit-entry.close")]

    def __init__(self, entry: AuditLogRead, now: datetime) -> None:
        super().__init__(classes="dialog-screen")
        self._entry = entry
        self._now = now

    def compose(self) -> ComposeResult:
        entry = self._entry
        actor = entry.user_email or SYSTEM
        if entry.user_id is not None:
            actor += f" (user {entry.user_id})"
        fields = (
            ("when", f"{when(entry.created_at)} UTC, {ago(entry.created_at, self._now)} ago"),
            ("actor", actor),
            ("action", entry.action),
            ("resource", resource(entry)),
            ("status", outcome(entry, self.app.theme_variables)),
            ("ip", entry.ip or "-"),
            ("agent", entry.user_agent or "-"),
            ("detail", entry.detail or "-"),
        )
        body = Text("\n").join(
            Text.assemble((f"{name:<9}", "bold"), value) for name, value in fields
        )
        with Vertical(classes="dialog", id="audit-entry"):
            yield Static(f"Audit entry {entry.id}", classes="question")
            yield Static(body, id="audit-entry-fields")

    def action_close(self) -> None:
        self.dismiss(None)
