"""Daily cost: the recent days as synced, then the forecast with its interval, in plotext.

The x axis counts days from the last complete day (0), labelled with dates, so the picture
depends on the data alone. History, today so far, forecast and interval differ by marker,
not only by colour, so the chart reads in the monochrome theme too. Today's figure is
partial (Cost Explorer reports a day during the next): it is a mark of its own beside the
line, never its last point, which would read as spending falling away.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from textual_plotext import PlotextPlot

from shared.api.costs import CostForecast

TICKS = 5
LEGEND_WIDTH = 100
NEEDED_DAYS = 7  # below this the server says not_enough_data (server/costs/forecast.py)


class ForecastChart(PlotextPlot):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: list[tuple[date, float]] = []
        self.partial: list[tuple[date, float]] = []
        self.forecast: CostForecast | None = None
        self.border_title = "daily cost"

    def show(
        self,
        history: Sequence[tuple[date, float]],
        forecast: CostForecast | None,
        *,
        complete_through: date | None = None,
    ) -> None:
        """Draw the complete days as a line, the later ones (today so far) as marks, and the
        forecast that follows."""
        days = sorted(history)
        last = complete_through or date.max
        self.history = [(day, amount) for day, amount in days if day <= last]
        self.partial = [(day, amount) for day, amount in days if day > last and amount]
        self.forecast = forecast
        self._replot()

    def _title(self, currency: str) -> str:
        forecast = self.forecast
        title = f"daily cost ({currency}): last {len(self.history)} days"
        if forecast is None:
            return title
        if forecast.method == "not_enough_data":
            return (
                f"{title}; forecast: not enough data "
                f"({forecast.history_days} of {NEEDED_DAYS} days)"
            )
        method = forecast.method.replace("_", " ")
        ahead, pct = len(forecast.points), forecast.interval_pct
        if self.size.width < LEGEND_WIDTH:  # no legend: the title says which line is which
            days, currency = len(self.history), forecast.currency
            today = ", x today" if self.partial else ""
            return (
                f"daily cost {currency}: ⠿ {days} days{today}, • next {ahead} ({method}), · {pct}%"
            )
        return f"{title}, next {ahead} ({method}, {pct}% range)"

    def _replot(self) -> None:
        plt = self.plt
        plt.clear_figure()
        forecast = self.forecast
        points = forecast.points if forecast else []
        self.border_title = self._title(forecast.currency if forecast else "USD")
        if not self.history and not points:
            plt.title("no costs synced yet")
            self.refresh()
            return
        origin = self.history[-1][0] if self.history else points[0].date - timedelta(days=1)

        def day(when: date) -> int:
            return (when - origin).days

        # A legend covers the oldest days of a narrow chart; the title names the lines then.
        legend = self.size.width >= LEGEND_WIDTH

        def label(text: str) -> str | None:
            return text if legend else None

        if self.history:
            plt.plot(
                [day(when) for when, _ in self.history],
                [amount for _, amount in self.history],
                marker="braille",
                label=label("synced"),
            )
        if points:
            xs = [day(point.date) for point in points]
            interval = f"{forecast.interval_pct if forecast else 80}% range"
            plt.plot(xs, [float(p.upper) for p in points], marker="·", label=label(interval))
            plt.plot(xs, [float(p.lower) for p in points], marker="·")
            plt.plot(xs, [float(p.mean) for p in points], marker="•", label=label("forecast"))
        if self.partial:  # drawn last: today's forecast point lies under it
            plt.scatter(
                [day(when) for when, _ in self.partial],
                [amount for _, amount in self.partial],
                marker="x",
                label=label("today so far"),
            )
        plt.ylim(0)
        first = day(self.history[0][0]) if self.history else 0
        last = day(points[-1].date) if points else 0
        span = max(last - first, 1)
        positions = sorted(
            {float(round(first + span * step / (TICKS - 1))) for step in range(TICKS)}
        )
        plt.xticks(
            positions, [(origin + timedelta(days=where)).strftime("%b %d") for where in positions]
        )
        self.refresh()
