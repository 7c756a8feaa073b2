"""A percentage as a one-line bar and its number: `██████░░░░ 61%`.

The fill and the number say the value without colour (monochrome theme, NO_COLOR); the
colour only repeats how close to full it is.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

FULL, EMPTY = "█", "░"
# Lowest percentage of each theme variable, worst first.
LEVELS: tuple[tuple[float, str], ...] = ((90.0, "error"), (75.0, "warning"), (0.0, "success"))
NUMBER_WIDTH = 5  # " 100%"


def level(pct: float) -> str:
    """The theme variable of a bar this full."""
    return next(variable for low, variable in LEVELS if pct >= low)


def bar_text(pct: float | None, width: int, colors: dict[str, str] | None = None) -> Text:
    """The bar and its number in `width` cells; `-` when there is no value yet."""
    if pct is None:
        return Text("-", style="dim")
    pct = min(max(pct, 0.0), 100.0)
    cells = max(width - NUMBER_WIDTH, 0)
    filled = round(pct / 100 * cells)
    style = (colors or {}).get(level(pct), "")
    text = Text(FULL * filled, style=style)
    text.append(EMPTY * (cells - filled), style="dim")
    text.append(f"{pct:.0f}%".rjust(NUMBER_WIDTH if cells else width))
    return text


class UsageBar(Widget):
    """One percentage (cpu, memory, a disk) drawn to the widget's width."""

    DEFAULT_CSS = """
    UsageBar {
        height: 1;
        width: 1fr;
    }
    """

    value: reactive[float | None] = reactive(None)

    def __init__(
        self, value: float | None = None, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(UsageBar.value, value)

    def render(self) -> Text:
        return bar_text(self.value, max(self.size.width, 1), self.app.theme_variables)
