"""Daily uptime as one cell per day, oldest on the left, like a status page's history bar.

A cell's height says how good the day was, so the bar reads without colour (monochrome
theme, NO_COLOR); colour only repeats it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from shared.api.monitors import DailyUptime

NO_DATA = "·"
# Lowest uptime (percent) for each glyph and theme variable, best first; below all: the last.
LEVELS: tuple[tuple[float, str, str], ...] = (
    (99.9, "█", "success"),
    (99.0, "▇", "success"),
    (95.0, "▅", "warning"),
    (90.0, "▃", "error"),
    (0.0, "▁", "error"),
)
LEGEND = "  ".join(f"{glyph} ≥{low:g}%" for low, glyph, _ in LEVELS[:-1]) + (
    f"  {LEVELS[-1][1]} <{LEVELS[-2][0]:g}%  {NO_DATA} no checks"
)


def day_cell(uptime_pct: float | None) -> tuple[str, str | None]:
    """The glyph and theme variable of a day with this uptime (None: no checks that day)."""
    if uptime_pct is None:
        return NO_DATA, None
    for low, glyph, variable in LEVELS:
        if uptime_pct >= low:
            return glyph, variable
    return LEVELS[-1][1], LEVELS[-1][2]


def overall_uptime(days: Sequence[DailyUptime]) -> float | None:
    """Uptime over all the days, each weighted by its number of checks."""
    weighted = [(day.uptime_pct, day.checks) for day in days if day.uptime_pct is not None]
    checks = sum(count for _, count in weighted)
    if not checks:
        return None
    return sum(pct * count for pct, count in weighted) / checks


class UptimeBar(Widget):
    DEFAULT_CSS = """
    UptimeBar {
        height: 4;
        padding: 0 1;
        border: round $primary 40%;
        border-title-color: $primary;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.days: list[DailyUptime] = []
        self.border_title = "uptime"
        self.border_subtitle = LEGEND

    def show(self, days: Sequence[DailyUptime]) -> None:
        self.days = list(days)
        overall = overall_uptime(self.days)
        summary = "no checks" if overall is None else f"{overall:.2f}%"
        self.border_title = f"uptime, {len(self.days)} days: {summary}"
        self.refresh()

    def render(self) -> Text:
        """The most recent days that fit the width, with how long ago they start below
        (relative, as the rest of the console reads time)."""
        width = max(self.size.width, 1)
        shown = self.days[-width:]
        if not shown:
            return Text("no uptime data yet", style="italic")
        colors = self.app.theme_variables
        line = Text()
        for day in shown:
            glyph, variable = day_cell(day.uptime_pct)
            line.append(glyph, style=colors.get(variable, "") if variable else "dim")
        first, last = f"{len(shown) - 1}d ago", "today"
        gap = max(len(shown) - len(first) - len(last), 1)
        line.append(f"\n{first}{' ' * gap}{last}")
        return line
