"""The newest unresolved incidents of the dashboard: `▲ critical  5m  #7 checkout down  ● open`.

Holds every unresolved incident it was given (the dashboard reads up to a page of each
status) and lists the newest; a live event changes one in place or lets it go.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from console.formatting import ago, status_text
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.incidents import IncidentRead, IncidentStatus

# What it is comes before the long tail: a narrow terminal cuts off the right.
COLUMNS = (
    Col("SEVERITY", 100),
    Col("OPENED", 85),
    Col("TITLE", 95, min_width=10),
    Col("STATUS", 80),
)
UNRESOLVED = frozenset({IncidentStatus.open.value, IncidentStatus.acknowledged.value})
NEWEST = 20
SHORT_STATUSES = {IncidentStatus.acknowledged.value: "ack"}


@dataclass(frozen=True)
class IncidentLine:
    id: int
    title: str
    severity: str
    status: str
    opened_at: datetime

    @classmethod
    def of(cls, incident: IncidentRead) -> IncidentLine:
        return cls(
            incident.id,
            incident.title,
            incident.severity.value,
            incident.status.value,
            incident.opened_at,
        )


def incident_change(kind: str, line: IncidentLine, colors: dict[str, str]) -> Text:
    """A line for the change log: `▲ critical  #7 checkout down opened`, `✓ resolved  #7 ...`."""
    if kind == "opened":
        return Text.assemble(
            status_text(line.severity, colors), f"  #{line.id} {line.title} opened"
        )
    return Text.assemble(status_text(kind, colors), f"  #{line.id} {line.title}")


class UnresolvedList(ResourceTable):
    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(COLUMNS, id=id)
        self._clock = clock
        self.lines: dict[int, IncidentLine] = {}

    def on_mount(self) -> None:
        self.follow_time("OPENED", self._opened)

    def _opened(self) -> list[tuple[int, Cell]]:
        now = self._clock()
        return [(line.id, ago(line.opened_at, now)) for line in self.lines.values()]

    def show(self, incidents: Iterable[IncidentRead]) -> None:
        self.lines = {incident.id: IncidentLine.of(incident) for incident in incidents}
        self._draw()

    def put(self, line: IncidentLine) -> None:
        """An incident as an event left it: listed while unresolved, else let go."""
        if line.status in UNRESOLVED:
            self.lines[line.id] = line
        else:
            self.lines.pop(line.id, None)
        self._draw()

    def forget(self, incident_id: int) -> None:
        self.lines.pop(incident_id, None)
        self._draw()

    def counts(self) -> Counter[str]:
        """How many by severity and by status."""
        counts = Counter(line.severity for line in self.lines.values())
        counts.update(line.status for line in self.lines.values())
        return counts

    def set_total(self, unresolved: int) -> None:
        """Title the list with how many are unresolved in all (it may hold fewer)."""
        listed = min(len(self.lines), NEWEST)
        counted = f"newest {listed} of {unresolved}" if unresolved > listed else f"{unresolved}"
        self.border_title = f"unresolved ({counted})"

    def _draw(self) -> None:
        newest = sorted(self.lines.values(), key=lambda i: (i.opened_at, i.id), reverse=True)
        self.set_rows([(line.id, self._cells(line)) for line in newest[:NEWEST]])

    def _cells(self, line: IncidentLine) -> list[Cell]:
        colors = self.app.theme_variables
        status = status_text(line.status, colors)
        short = SHORT_STATUSES.get(line.status)
        return [
            status_text(line.severity, colors),
            ago(line.opened_at, self._clock()),
            f"#{line.id} {line.title}",
            (status, Text(f"{status.plain[0]} {short}", style=status.style)) if short else status,
        ]
