"""One count with its status: `▼ down        3`, like a pulse on an on-call overview.

The label carries the glyph and the word (readable without colour); a count above zero
takes the status colour and bold, a zero stays dim so the eye lands on what is not.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from console.formatting import status_text


class CounterTile(Widget):
    DEFAULT_CSS = """
    CounterTile {
        height: 1;
        padding: 0 1;
    }
    """

    count: reactive[int | None] = reactive(None)

    def __init__(self, status: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status = status

    def render(self) -> Text:
        colors = self.app.theme_variables
        label = status_text(self.status, colors)
        number = "-" if self.count is None else str(self.count)
        gap = max(self.size.width - len(label) - len(number), 1)
        if self.count:
            number_style = f"bold {label.style}".strip()
        else:
            number_style = "dim"
            label.stylize("dim")
        return Text.assemble(label, " " * gap, (number, number_style))
