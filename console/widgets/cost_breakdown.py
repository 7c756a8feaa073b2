"""A cost breakdown (by service or by account): a table of this month's amounts with a
daily trend column, and below it a Sparkline of the daily cost of the row under the cursor
with its range in words.

Rows are keyed by an int (the account id, or the service's place), so the cursor stays on
the same line when a sync re-reads the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Sparkline, Static

from console.formatting import spark
from console.widgets.column_fit import Col
from console.widgets.resource_table import ResourceTable

TREND_DAYS = 14


@dataclass(frozen=True)
class CostLine:
    key: int
    name: str
    amount: Decimal
    share_pct: float
    change_pct: float | None
    daily: tuple[float, ...]  # oldest first


def money(amount: Decimal | float, currency: str = "USD", *, cents: bool = True) -> str:
    """`$1,234.56` for dollars, `1,234.56 EUR` for the rest; `$1,235` without cents."""
    figure = f"{Decimal(str(amount)):,.{2 if cents else 0}f}"
    return f"${figure}" if currency == "USD" else f"{figure} {currency}"


def rough(amount: Decimal | float, currency: str = "USD") -> str:
    """Money without its cents from 100 up: `$120`, `$0.45`."""
    return money(amount, currency, cents=abs(float(amount)) < 100)


def money_forms(amount: Decimal | float, currency: str = "USD") -> tuple[str, str]:
    return money(amount, currency), money(amount, currency, cents=False)


def change_text(change_pct: float | None, colors: dict[str, str]) -> Text:
    """`▲ 12%` costs more (warning colour), `▼ 8%` less; `new` without a past to compare."""
    if change_pct is None:
        return Text("new")
    if round(change_pct) == 0:
        return Text("= 0%")
    up = change_pct > 0
    return Text(
        f"{'▲' if up else '▼'} {abs(change_pct):.0f}%",
        style=colors.get("warning" if up else "success", ""),
    )


class CostBreakdown(Vertical):
    DEFAULT_CSS = """
    CostBreakdown {
        height: 1fr;
        border: round $primary 40%;
        border-title-color: $primary;
    }
    CostBreakdown ResourceTable {
        height: 1fr;
    }
    CostBreakdown .daily {
        height: 1;
        padding: 0 1;
    }
    CostBreakdown .daily Sparkline {
        width: 1fr;
        margin-right: 1;
    }
    CostBreakdown .daily-label {
        width: auto;
        max-width: 60%;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        color: $text-muted;
    }
    """

    def __init__(self, heading: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.heading = heading
        self.lines: dict[int, CostLine] = {}
        self.currency = "USD"
        self.border_title = heading

    def compose(self) -> ComposeResult:
        yield ResourceTable(
            (
                Col(self.heading.upper(), 95, min_width=10),
                Col("MONTH", 90),
                Col("TREND", 70, width=TREND_DAYS),
                Col("SHARE", 60, width=5),
                Col("CHANGE", 100, width=6),
            )
        )
        with Horizontal(classes="daily"):
            yield Sparkline([])
            yield Static(classes="daily-label")

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    @property
    def sparkline(self) -> Sparkline:
        return self.query_one(Sparkline)

    def show(self, lines: Sequence[CostLine], *, currency: str) -> None:
        """Replace the rows (most expensive first, as given) and redraw the sparkline."""
        self.lines = {line.key: line for line in lines}
        self.currency = currency
        colors = self.app.theme_variables
        self.table.set_rows(
            [
                (
                    line.key,
                    [
                        line.name,
                        money_forms(line.amount, currency),
                        spark(list(line.daily), width=TREND_DAYS),
                        f"{line.share_pct:.0f}%",
                        change_text(line.change_pct, colors),
                    ],
                )
                for line in lines
            ]
        )
        total = sum((line.amount for line in lines), Decimal(0))
        self.border_title = f"{self.heading}, this month: {money(total, currency)}"
        self._draw_daily()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._draw_daily()

    def _draw_daily(self) -> None:
        """The sparkline of the row under the cursor (the most expensive at first)."""
        current = self.table.current_id
        line = self.lines.get(current) if current is not None else None
        values = list(line.daily) if line is not None else []
        self.sparkline.data = values
        if line is None:
            label = "no costs yet"
        else:  # the range first: a narrow label cuts the name, shown in the row as well
            low, high = (
                rough(min(values or [0]), self.currency),
                rough(max(values or [0]), self.currency),
            )
            label = f"{low}-{high}/day {line.name}"
        self.query_one(".daily-label", Static).update(label)
