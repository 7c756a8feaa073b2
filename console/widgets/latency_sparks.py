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
from typing import ClassVar

from rich.console import Console
from rich.text import Text
from textual.geometry import Size
from textual.renderables.sparkline import Sparkline as SparklineRenderable
from textual.widget import Widget

from console.formatting import milliseconds, status_text

POINTS = 60
NAME_WIDTH = 28  # at most; a narrow panel splits its width between name and sparkline
VALUE_WIDTH = 8
ROW_LINES = 3


@dataclass
class Followed:
    monitor_id: int
    name: str
    status: str


class LatencySparks(Widget):
    """One widget that draws every row (rather than a name, a sparkline and a value widget
    per row): a quarter of the dashboard's widgets were these, and each widget costs the
    console's start its styling and layout."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "latency-sparks--min-color",
        "latency-sparks--max-color",
    }
    DEFAULT_CSS = """
    LatencySparks {
        height: auto;
        padding: 0 1;
        overflow: hidden;
        text-wrap: nowrap;
    }
    LatencySparks > .latency-sparks--max-color {
        color: $primary;
    }
    LatencySparks > .latency-sparks--min-color {
        color: $primary 30%;
    }
    """

    def __init__(self, rows: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = rows
        self.followed: list[Followed] = []
        self._points: dict[int, deque[tuple[int, float]]] = {}
        self._seeded: set[int] = set()

    @property
    def monitor_ids(self) -> list[int]:
        return [item.monitor_id for item in self.followed]

    def follow(self, monitors: Sequence[Followed]) -> None:
        """Show these monitors in this order (as many as there are rows); forget the rest."""
        rows_before = len(self.followed)
        self.followed = list(monitors[: self.rows])
        kept = set(self.monitor_ids)
        self._points = {key: value for key, value in self._points.items() if key in kept}
        self._seeded &= kept
        self.refresh(layout=len(self.followed) != rows_before)  # its height when auto

    def put_first(self, monitor: Followed) -> None:
        """Follow `monitor` at the top (it just went wrong), dropping the last if full."""
        others = [item for item in self.followed if item.monitor_id != monitor.monitor_id]
        self.follow([monitor, *others])

    def set_status(self, monitor_id: int, status: str) -> None:
        for item in self.followed:
            if item.monitor_id == monitor_id:
                item.status = status
                self.refresh()

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
        self.refresh()

    def record(self, monitor_id: int, result_id: int, response_ms: int | float | None) -> None:
        """One live check; one without a response time (refused, timed out) is left out."""
        if monitor_id not in self.monitor_ids or response_ms is None:
            return
        points = self._points.setdefault(monitor_id, deque(maxlen=POINTS))
        if points and result_id <= points[-1][0]:
            return  # seen already, or older than what is shown
        points.append((result_id, float(response_ms)))
        self.refresh()  # drawn once for a burst of checks, when the console is next idle

    def values(self, monitor_id: int) -> list[float]:
        return [ms for _, ms in self._points.get(monitor_id, ())]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self.followed), 1)

    def render(self) -> Text:
        if not self.followed:
            return Text("no monitors to follow", style="dim")
        width = self.size.width
        name_width = min(NAME_WIDTH, max(width - VALUE_WIDTH - 1, 0) // 2)
        spark_width = max(width - VALUE_WIDTH - 1 - name_width, 1)
        # Tall panels give each row up to ROW_LINES lines, so the curves show their shape.
        lines = max(1, min(ROW_LINES, self.size.height // self.rows))
        _, background = self.background_colors
        low, high = (
            (background + self.get_component_styles(f"latency-sparks--{end}-color").color)
            for end in ("min", "max")
        )
        colors = self.app.theme_variables
        drawn = Text(no_wrap=True, overflow="crop")
        for row, item in enumerate(self.followed):
            values = self.values(item.monitor_id)
            curve = SparklineRenderable(
                values,
                width=spark_width,
                height=lines,
                min_color=low.rich_color,
                max_color=high.rich_color,
            )
            last = milliseconds(values[-1]) if values else "-"
            name = Text.assemble(status_text(item.status, colors)[:1], f" {item.name}")
            name.truncate(name_width, overflow="ellipsis", pad=True)
            for line, bars in enumerate(curve_lines(curve, self.app.console)):
                if row or line:
                    drawn.append("\n")
                if line == 0:  # name and last value on the row's first line
                    drawn.append_text(name)
                    drawn.append(" ").append_text(bars).append(f"{last:>{VALUE_WIDTH}}")
                else:
                    drawn.append(" " * (name_width + 1)).append_text(bars)
        return drawn


def curve_lines(curve: SparklineRenderable[float], console: Console) -> list[Text]:
    """The sparkline's lines as text, top first, its colours kept."""
    lines = [Text()]
    for segment in console.render(curve):
        if segment.text == "\n":
            lines.append(Text())
        else:
            lines[-1].append(segment.text, segment.style)
    return lines
