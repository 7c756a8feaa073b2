"""The dashboard's monitors down or degraded: `▼ down  payments api  2m  connection refused`.

Down before degraded, then by name; a monitor that goes wrong while shown goes on top.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from rich.text import Text

from console.formatting import ago, status_text
from console.screens.dashboard_data import TROUBLE
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.monitors import MonitorRead

COLUMNS = (
    Col("STATUS", 100),
    Col("NAME", 95, min_width=8),
    Col("CHECKED", 70),
    Col("ERROR", 90, min_width=7),
)
# Errors a narrow column says in a word; the others are cut with an ellipsis.
SHORT_ERRORS = {
    "connection refused": "refused",
    "timed out": "timeout",
    "timeout": "timeout",
    "name or service not known": "no DNS",
    "certificate": "TLS error",
    "ssl": "TLS error",
}


# "expected status 200, got 503" (server/providers/checks/http.py) says `got 503`.
UNEXPECTED = re.compile(r"expected .*, (got \S+)$")


def error_forms(error: str | None) -> tuple[str, ...]:
    """The check's error, and a word for it when the column is narrow."""
    if not error:
        return ("",)
    unexpected = UNEXPECTED.search(error)
    if unexpected and len(unexpected.group(1)) <= 10:
        return (error, unexpected.group(1))
    lowered = error.lower()
    for phrase, word in SHORT_ERRORS.items():
        if phrase in lowered:
            return (error, word)
    return (error,)


@dataclass(frozen=True)
class MonitorLine:
    id: int
    name: str
    status: str
    checked_at: datetime | None = None
    error: str | None = None

    @classmethod
    def of(cls, monitor: MonitorRead) -> MonitorLine:
        return cls(
            monitor.id,
            monitor.name,
            monitor.status.value,
            monitor.last_checked_at,
            monitor.last_error,
        )


def trouble_order(line: MonitorLine) -> tuple[int, str, int]:
    return TROUBLE.index(line.status), line.name.lower(), line.id


def monitor_change(name: str, status: str, previous: str, colors: dict[str, str]) -> Text:
    """A line for the change log: `▼ down  payments api (was up)`."""
    return Text.assemble(status_text(status, colors), f"  {name} (was {previous})")


class TroubleList(ResourceTable):
    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(COLUMNS, id=id)
        self._clock = clock
        self.lines: dict[int, MonitorLine] = {}

    def on_mount(self) -> None:
        self.follow_time("CHECKED", self._checked)

    def _checked(self) -> list[tuple[int, Cell]]:
        now = self._clock()
        return [(line.id, ago(line.checked_at, now)) for line in self.lines.values()]

    def show(self, lines: Iterable[MonitorLine]) -> None:
        ordered = sorted(lines, key=trouble_order)
        self.lines = {line.id: line for line in ordered}
        self.set_rows([(line.id, self._cells(line)) for line in ordered])
        self._title()

    def flipped(self, monitor_id: int, name: str, status: str) -> bool:
        """Follow a status change; True when the monitor has just gone wrong."""
        known = self.lines.get(monitor_id)
        if status not in TROUBLE:
            if known is not None:
                del self.lines[monitor_id]
                self.drop(monitor_id)
                self._title()
            return False
        line = replace(known, status=status) if known else MonitorLine(monitor_id, name, status)
        self.lines[monitor_id] = line
        self.upsert_row(monitor_id, self._cells(line), first=known is None)
        self._title()
        return known is None

    def checked(self, monitor_id: int, checked_at: datetime, error: str | None) -> None:
        known = self.lines.get(monitor_id)
        if known is not None:
            line = replace(known, checked_at=checked_at, error=error)
            self.lines[monitor_id] = line
            self.upsert_row(monitor_id, self._cells(line))

    def _title(self) -> None:
        self.border_title = f"down or degraded ({len(self.lines)})"

    def _cells(self, line: MonitorLine) -> list[Cell]:
        return [
            status_text(line.status, self.app.theme_variables),
            line.name,
            ago(line.checked_at, self._clock()),
            error_forms(line.error),
        ]
