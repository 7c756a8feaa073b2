"""Response times of a few monitors as sparklines, one row each: status and name, the
sparkline, the last value. Fed by live checks; seeded from the API once per monitor.

Each monitor keeps its last POINTS results in a bounded deque of (result id, ms): a result
that arrives twice (in the seed and as a live event) counts once, and a seed that answers
after live checks were already recorded slots in before them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from console.formatting import milliseconds, status_text

POINTS = 60


@dataclass
class Followed:
    monitor_id: int
    name: str
    status: str


class LatencySparks(Vertical):
    DEFAULT_CSS = """
    LatencySparks {
        height: auto;
        padding: 0 1;
    }
    LatencySparks .spark-row {
        height: 1;
    }
    LatencySparks .spark-name {
        width: 1fr;
        max-width: 28;
        margin-right: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    LatencySparks Sparkline {
        width: 1fr;
        height: 100%;
    }
    LatencySparks .spark-value {
        width: 8;
        text-align: right;
    }
    LatencySparks #spark-none {
        color: $text-muted;
    }
    """

    def __init__(self, rows: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = rows
        self.followed: list[Followed] = []
        self._points: dict[int, deque[tuple[int, float]]] = {}
        self._seeded: set[int] = set()
        self._draw_due = False

    def compose(self) -> ComposeResult:
        for slot in range(self.rows):
            with Horizontal(classes="spark-row", id=f"spark-{slot}"):
                yield Static(classes="spark-name")
                yield Sparkline([])
                yield Static(classes="spark-value")
        yield Static("no monitors to follow", id="spark-none")

    def on_mount(self) -> None:
        self._draw()

    @property
    def monitor_ids(self) -> list[int]:
        return [item.monitor_id for item in self.followed]

    def follow(self, monitors: Sequence[Followed]) -> None:
        """Show these monitors in this order (as many as there are rows); forget the rest."""
        self.followed = list(monitors[: self.rows])
        kept = set(self.monitor_ids)
        self._points = {key: value for key, value in self._points.items() if key in kept}
        self._seeded &= kept
        self._draw()

    def put_first(self, monitor: Followed) -> None:
        """Follow `monitor` at the top (it just went wrong), dropping the last if full."""
        others = [item for item in self.followed if item.monitor_id != monitor.monitor_id]
        self.follow([monitor, *others])

    def set_status(self, monitor_id: int, status: str) -> None:
        for item in self.followed:
            if item.monitor_id == monitor_id:
                item.status = status
                self._draw()

    def unseeded(self) -> list[int]:
        return [monitor_id for monitor_id in self.monitor_ids if monitor_id not in self._seeded]

    def seed(self, monitor_id: int, results: Iterable[tuple[int, int | None]]) -> None:
        """Merge past results (result id, ms) with what live checks brought already."""
        if monitor_id not in self.monitor_ids:
            return
        self._seeded.add(monitor_id)
        merged = dict(self._points.get(monitor_id, ()))
        merged.update((result_id, float(ms)) for result_id, ms in results if ms is not None)
        self._points[monitor_id] = deque(sorted(merged.items()), maxlen=POINTS)
        self._draw()

    def record(self, monitor_id: int, result_id: int, response_ms: int | float | None) -> None:
        """One live check; one without a response time (refused, timed out) is left out."""
        if monitor_id not in self.monitor_ids or response_ms is None:
            return
        points = self._points.setdefault(monitor_id, deque(maxlen=POINTS))
        if points and result_id <= points[-1][0]:
            return  # seen already, or older than what is shown
        points.append((result_id, float(response_ms)))
        self._draw_soon()

    def values(self, monitor_id: int) -> list[float]:
        return [ms for _, ms in self._points.get(monitor_id, ())]

    def _draw_soon(self) -> None:
        """Draw once for a burst of checks, after this burst has been read."""
        if not self._draw_due:
            self._draw_due = True
            self.call_later(self._draw)

    def _draw(self) -> None:
        self._draw_due = False
        if not self.is_mounted:
            return
        colors = self.app.theme_variables
        for slot, row in enumerate(self.query(".spark-row").results(Horizontal)):
            shown = slot < len(self.followed)
            if row.display != shown:
                row.display = shown
            if not shown:
                continue
            item = self.followed[slot]
            values = self.values(item.monitor_id)
            glyph = status_text(item.status, colors)
            name = Text.assemble(glyph[:1], f" {item.name}")
            # Fixed widths (see the CSS): new text needs no layout of the whole screen.
            row.query_one(".spark-name", Static).update(name, layout=False)
            row.query_one(Sparkline).data = values
            last = milliseconds(values[-1]) if values else "-"
            row.query_one(".spark-value", Static).update(last, layout=False)
        self.query_one("#spark-none", Static).display = not self.followed
