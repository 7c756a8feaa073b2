"""A host's series over a range as a plotext line chart: one line per series (cpu, memory,
each disk; load; received and sent), the same way latency_chart.py draws a monitor.

The x axis spans the whole range, ending at the newest point, labelled with how long
before it (`-45m`, `-18h`, `-5d`), as the rest of the console reads time: the picture
depends on the data alone, not on the wall clock, and a host that began reporting a few
minutes ago shows a short line on the right, not one stretched over the chart. Lines
differ by marker as well as colour, so they read without colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from textual_plotext import PlotextPlot

from console.formatting import short_duration

MARKERS = ("braille", "dot", "+", "x", "*", "o")
# Where each range's x axis is labelled, in hours before its newest point: whole units.
TICK_HOURS: dict[str, tuple[float, ...]] = {
    "1h": (1.0, 0.75, 0.5, 0.25, 0.0),
    "24h": (24.0, 18.0, 12.0, 6.0, 0.0),
    "7d": tuple(24.0 * day for day in range(7, -1, -1)),
    "30d": (720.0, 600.0, 480.0, 360.0, 240.0, 120.0, 0.0),
}


@dataclass(frozen=True)
class Line:
    """One series as drawn: its name and (time, value) points, oldest first."""

    label: str
    points: list[tuple[datetime, float]] = field(default_factory=list)


class MetricChart(PlotextPlot):
    def __init__(
        self, title: str, *, unit: str = "", top: float | None = None, id: str | None = None
    ) -> None:
        """`top` fixes the y axis' top (100 for percentages), else it follows the data."""
        super().__init__(id=id)
        self.chart_title = title
        self.unit = unit
        self.top = top
        self.span = "1h"
        self.lines: list[Line] = []
        self.border_title = title

    def show(self, lines: Sequence[Line], span: str) -> None:
        """Draw these lines over `span` (1h, 24h, 7d or 30d)."""
        self.lines = [Line(line.label, sorted(line.points)) for line in lines]
        self.span = span
        self._replot()

    def add(self, label: str, moment: datetime, value: float) -> None:
        """Append a point to the line `label` (a live sample), unless it is drawn already."""
        lines = []
        for line in self.lines:
            if line.label == label and (not line.points or line.points[-1][0] < moment):
                line = Line(label, [*line.points, (moment, value)])
            lines.append(line)
        self.lines = lines
        self._replot()

    def _replot(self) -> None:
        plt = self.plt
        plt.clear_figure()
        unit = f" ({self.unit})" if self.unit else ""
        self.border_title = f"{self.chart_title}, last {self.span}{unit}"
        moments = [moment for line in self.lines for moment, _ in line.points]
        if not moments:
            plt.title("no samples in this range")
            self.refresh()
            return
        newest, oldest = max(moments), min(moments)

        def hours(moment: datetime) -> float:
            return (moment - newest).total_seconds() / 3600

        # The first line is drawn last, over the others: in a short chart the lines share
        # cells, and the first (cpu) is the one to read.
        for index, line in reversed(list(enumerate(self.lines))):
            if line.points:
                plt.plot(
                    [hours(moment) for moment, _ in line.points],
                    [value for _, value in line.points],
                    marker=MARKERS[index % len(MARKERS)],
                    label=line.label,
                )
        if self.top is not None:
            plt.ylim(0, self.top)
            plt.yticks([self.top * quarter / 4 for quarter in range(5)])
        else:
            plt.ylim(0)
        ticks = TICK_HOURS.get(self.span) or (max(-hours(oldest), 1.0), 0.0)
        plt.xlim(-ticks[0], 0)
        plt.xticks(
            [-before for before in ticks],
            [f"-{short_duration(before * 3600)}" if before else "now" for before in ticks],
        )
        self.refresh()
