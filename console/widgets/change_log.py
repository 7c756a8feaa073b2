"""What changed in the last hour, newest first, one line each: `  5m  ▼ down  api (was up)`.

Entries are keyed, so the same change heard twice (read on load, then as a live event)
shows once. Ages are measured on the clock handed in (the app's), never the wall clock,
and an entry older than the window drops out when the log is next drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual.widget import Widget

from console.formatting import ago
from console.widgets.resource_table import TICK_SECONDS

WINDOW = timedelta(hours=1)
LIMIT = 200


@dataclass(frozen=True)
class Change:
    at: datetime
    text: Text


class ChangeLog(Widget):
    DEFAULT_CSS = """
    ChangeLog {
        padding: 0 1;
        overflow: hidden;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._changes: dict[Hashable, Change] = {}
        self._ages: list[str] = []  # as last drawn

    def on_mount(self) -> None:
        self.set_interval(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        """Draw again when an age shown has moved on (`4m` to `5m`): no request."""
        if self.screen.is_active and self._ages != self._ages_now():
            self.refresh()

    def _ages_now(self) -> list[str]:
        now = self._clock()
        return [ago(change.at, now) for change in self.recent()[: max(self.size.height, 1)]]

    def add(self, key: Hashable, at: datetime, text: Text) -> None:
        """Record a change (replacing one with the same key) if it is within the window."""
        if at < self._clock() - WINDOW:
            return
        self._changes.pop(key, None)
        self._changes[key] = Change(at, text)
        if len(self._changes) > LIMIT:
            oldest = min(self._changes, key=lambda k: self._changes[k].at)
            del self._changes[oldest]
        self.refresh()

    def clear(self) -> None:
        self._changes.clear()
        self.refresh()

    def recent(self) -> list[Change]:
        """Within the window, newest first (the later recorded first when at the same time)."""
        since = self._clock() - WINDOW
        self._changes = {k: c for k, c in self._changes.items() if c.at >= since}
        ordered = list(reversed(self._changes.values()))
        return sorted(ordered, key=lambda change: change.at, reverse=True)

    def render(self) -> Text:
        changes = self.recent()
        self._ages = self._ages_now()
        if not changes:
            return Text("nothing changed in the last hour", style="dim")
        lines = Text()
        for index, (change, age) in enumerate(zip(changes, self._ages, strict=False)):
            if index:
                lines.append("\n")
            lines.append(f"{age:>4}  ", style="dim")
            lines.append_text(change.text)
        return lines
