"""The inbox (`:notif`): the signed-in member's notifications, newest first, live.

Keys: enter or r marks the line under the cursor read, R marks every line read, d deletes
the line. An unread line says `● new` in its first column and has its title in bold, so it
reads without colour. A `notification.created` event adds its line at the top; the event
carries no body, so the line's body is read with the next load. What is unread is also the
count in the status bar, which the app keeps (console/app.py); this view tells it each change.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from console.formatting import ago, status_text
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.events import Event, NotificationCreated
from shared.api.incidents import Severity
from shared.api.notifications import NotificationRead

COLUMNS = (
    Col("NEW", 100, width=5),
    Col("SEVERITY", 90, width=10),
    Col("TITLE", 95, min_width=20),
    Col("EVENT", 40),
    Col("WHEN", 85, width=5),
)
PAGE = 100
INBOX_ACTIONS = frozenset({"read", "read_all", "delete"})


def inbox_cells(line: NotificationRead, now: datetime, colors: dict[str, str]) -> list[Cell]:
    title = Text(line.title, style="" if line.read else "bold")
    return [
        "" if line.read else Text("● new", style=colors.get("accent", "")),
        status_text(line.severity.value, colors),
        title,
        line.event_type,
        ago(line.created_at, now),
    ]


class NotificationsScreen(ViewScreen):
    VIEW = "notifications"
    BINDINGS = [
        Binding("r", "read", "Read", id="notifications.read"),
        Binding("R", "read_all", "Read all", id="notifications.read_all"),
        Binding("d", "delete", "Delete", id="notifications.delete"),
        Binding("enter", "open", "Read", id="notifications.open", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, NotificationRead] = {}
        self.total = 0
        self.deleted: set[int] = set()

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="notifications")

    def on_mount(self) -> None:
        self.table.follow_time("WHEN", self._when)

    def _when(self) -> list[tuple[int, Cell]]:
        now = self.upmetr.now()
        return [(line.id, ago(line.created_at, now)) for line in self.lines.values()]

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    async def load(self) -> None:
        page = await self.attempt(self.upmetr.api.notifications.list(per_page=PAGE))
        if page is None:
            return
        self.lines = {line.id: line for line in page.items}
        self.total = page.total
        now, colors = self.upmetr.now(), self.app.theme_variables
        self.table.set_rows([(line.id, inbox_cells(line, now, colors)) for line in page.items])
        self._title()
        if page.total <= len(page.items):  # the whole inbox is here: its unread count too
            self.upmetr.unread = sum(not line.read for line in page.items)

    def _title(self) -> None:
        unread = sum(not line.read for line in self.lines.values())
        self.table.set_title("notifications", str(self.total), f": {unread} unread")

    def live(self, event: Event) -> None:
        data = event.data
        me = self.upmetr.me
        if not isinstance(data, NotificationCreated) or me is None or data.user_id != me.user.id:
            return
        if data.id in self.lines or data.id in self.deleted:
            return
        self.total += 1
        line = NotificationRead(
            id=data.id,
            event_type=data.notification_type,
            title=data.title,
            body="",
            severity=Severity(data.severity),
            incident_id=None,
            read=False,
            created_at=self.upmetr.now(),
        )
        self._show(line, first=True)

    def _show(self, line: NotificationRead, *, first: bool = False) -> None:
        self.lines[line.id] = line
        cells = inbox_cells(line, self.upmetr.now(), self.app.theme_variables)
        self.table.upsert_row(line.id, cells, first=first)
        self._title()

    def _unread_less(self, count: int = 1) -> None:
        self.upmetr.unread = max((self.upmetr.unread or 0) - count, 0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Every member, a viewer too, keeps their own inbox; `--readonly` shows the keys
        disabled, as it does every action that changes something."""
        if action in INBOX_ACTIONS and self.upmetr.readonly:
            return None
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        if not self.upmetr.readonly:  # enter comes as a row selection, past check_action
            self.action_read()

    def action_read(self) -> None:
        line = self.lines.get(self.table.current_id or 0)
        if line is not None and not line.read:
            self._mark_read(line.id)

    @work(group="act")
    async def _mark_read(self, line_id: int) -> None:
        read = await self.attempt(self.upmetr.api.notifications.read(line_id))
        known = self.lines.get(line_id)
        if read is None or known is None:
            return
        if not known.read:
            self._unread_less()
        # The answer carries what a line added live lacked (its body, the server's time).
        self._show(read)

    @work(group="act")
    async def action_read_all(self) -> None:
        left = await self.attempt(self.upmetr.api.notifications.read_all(), "Every line is read")
        if left is None:
            return
        self.upmetr.unread = left.unread
        for line in list(self.lines.values()):
            if not line.read:
                self._show(line.model_copy(update={"read": True}))

    def action_delete(self) -> None:
        line_id = self.table.current_id
        if line_id is not None:
            self._delete(line_id)

    @work(group="act")
    async def _delete(self, line_id: int) -> None:
        api = self.upmetr.api.notifications

        async def delete() -> bool:  # the answer is a 204: say apart done and refused
            await api.delete(line_id)
            return True

        if await self.attempt(delete(), "Notification deleted"):
            self._drop(line_id)

    def _drop(self, line_id: int) -> None:
        line = self.lines.pop(line_id, None)
        self.table.drop(line_id)
        if line is not None and line_id not in self.deleted:
            self.deleted.add(line_id)
            self.total = max(self.total - 1, 0)
            if not line.read:
                self._unread_less()
            self._title()
