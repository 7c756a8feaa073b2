"""Response times of a monitor's recent checks as a plotext line chart.

The x axis is minutes before the newest check, labelled with UTC clock times, so the
picture depends on the data alone (no wall clock). Failed checks are drawn as `x` (at 0
ms when they had no response), so they stand out without colour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from textual_plotext import PlotextPlot

from shared.api.monitors import CheckResultRead, MonitorStatus

MAX_POINTS = 200
TICKS = 5


@dataclass(frozen=True, slots=True)
class LatencyPoint:
    result_id: int
    checked_at: datetime
    response_ms: float | None
    failed: bool

    @classmethod
    def of(cls, result: CheckResultRead) -> LatencyPoint:
        return cls(
            result.id,
            result.checked_at,
            result.response_time_ms,
            result.status is MonitorStatus.down,
        )


class LatencyChart(PlotextPlot):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: list[LatencyPoint] = []
        self.border_title = "response time"

    def show(self, points: Iterable[LatencyPoint]) -> None:
        """Draw these checks (any order), the newest MAX_POINTS of them."""
        self.points = sorted(points, key=lambda point: (point.checked_at, point.result_id))
        self.points = self.points[-MAX_POINTS:]
        self._replot()

    def add(self, point: LatencyPoint) -> None:
        """Add one check unless it is drawn already (it may come by event and by reply)."""
        if any(known.result_id == point.result_id for known in self.points):
            return
        self.show([*self.points, point])

    def _replot(self) -> None:
        plt = self.plt
        plt.clear_figure()
        timed = [point for point in self.points if point.response_ms is not None]
        self.border_title = f"response time, last {len(self.points)} checks (ms, UTC)"
        if not self.points:
            plt.title("no checks yet")
            self.refresh()
            return
        newest = self.points[-1].checked_at

        def minutes(point: LatencyPoint) -> float:
            return (point.checked_at - newest).total_seconds() / 60

        fine = [point for point in timed if not point.failed]
        failed = [point for point in self.points if point.failed]
        if fine:
            plt.plot(
                [minutes(p) for p in fine],
                [p.response_ms or 0.0 for p in fine],
                marker="braille",
                label="ms",
            )
        if failed:
            plt.scatter(
                [minutes(p) for p in failed],
                [p.response_ms or 0.0 for p in failed],
                marker="x",
                label="failed",
            )
        plt.ylim(0)
        oldest = minutes(self.points[0])
        # Seconds matter when the checks span only a few minutes (several check-nows).
        form = "%H:%M" if oldest <= -TICKS * 2 else "%H:%M:%S"
        steps = range(TICKS) if oldest < 0 else range(1)
        positions = [oldest * (1 - step / (TICKS - 1)) for step in steps]
        plt.xticks(
            positions,
            [(newest + timedelta(minutes=where)).strftime(form) for where in positions],
        )
        self.refresh()
