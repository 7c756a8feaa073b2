"""What an organization uses of each of its plan's limits, a line each:
`monitors        ████████░░   8/10  near limit`.

The figures and a word (`near limit`, `at limit`, `over limit`) say how close to a limit it
is without colour (monochrome theme, NO_COLOR); the colour only repeats it. A limit the plan
does not set reads `unlimited`; the check interval is a minimum, not a maximum, so it has no
bar: a monitor checked more often than the plan allows is `below minimum`.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from console.widgets.usage_bar import EMPTY, FULL
from shared.api.billing import Limit, UsageLine

LABELS = {
    Limit.users: "users",
    Limit.monitors: "monitors",
    Limit.cloud_accounts: "cloud accounts",
    Limit.agents: "agents",
    Limit.status_pages: "status pages",
    Limit.min_check_interval_seconds: "check interval",
    Limit.history_days: "history",
}
LABEL_WIDTH = 16
FIGURE_WIDTH = 13  # " 1000/1000" or " 8/unlimited"
WORD_WIDTH = 15  # " below minimum"
BAR_MAX = 40  # wider, the figures drift too far from their labels to read across
NEAR_PCT = 80.0  # from here a limit is near: a word and the warning colour


def verdict(line: UsageLine) -> tuple[str, str]:
    """The word for how close `line` is to its limit, and the theme variable that repeats it."""
    if line.used is None or line.allowed is None:
        return "", "success"
    if line.limit is Limit.min_check_interval_seconds:
        return ("below minimum", "error") if line.used < line.allowed else ("", "success")
    if line.used > line.allowed:
        return "over limit", "error"
    if line.used == line.allowed:
        return "at limit", "error"
    if line.allowed and line.used / line.allowed * 100 >= NEAR_PCT:
        return "near limit", "warning"
    return "", "success"


def figures(line: UsageLine) -> str:
    """`8/10`, `8/unlimited`; the check interval as `60s/min 30s`, history as `30 days`."""
    if line.limit is Limit.history_days:
        return "unlimited" if line.allowed is None else f"{line.allowed} days"
    if line.limit is Limit.min_check_interval_seconds:
        used = "-" if line.used is None else f"{line.used}s"
        return f"{used}/{'any' if line.allowed is None else f'min {line.allowed}s'}"
    used = "-" if line.used is None else str(line.used)
    return f"{used}/{'unlimited' if line.allowed is None else line.allowed}"


def has_bar(line: UsageLine) -> bool:
    return line.limit not in (Limit.min_check_interval_seconds, Limit.history_days)


def usage_line(line: UsageLine, width: int, colors: dict[str, str] | None = None) -> Text:
    """One limit drawn in `width` cells: label, bar, figures and word."""
    word, variable = verdict(line)
    style = (colors or {}).get(variable, "")
    text = Text(LABELS.get(line.limit, line.limit.value).ljust(LABEL_WIDTH))
    cells = min(max(width - LABEL_WIDTH - FIGURE_WIDTH - WORD_WIDTH, 0), BAR_MAX)
    if has_bar(line) and line.allowed is not None and line.used is not None:
        share = 1.0 if line.allowed == 0 else min(line.used / line.allowed, 1.0)
        filled = round(share * cells)
        text.append(FULL * filled, style=style)
        text.append(EMPTY * (cells - filled), style="dim")
    else:
        text.append(" " * cells)
    text.append(figures(line).rjust(FIGURE_WIDTH))
    text.append(f" {word}".ljust(WORD_WIDTH), style=f"bold {style}" if word else "")
    return text


class PlanUsage(Widget):
    """Every limit of the plan with what is used of it, drawn to the widget's width."""

    DEFAULT_CSS = """
    PlanUsage {
        height: auto;
        width: 1fr;
    }
    """

    lines: reactive[tuple[UsageLine, ...]] = reactive((), layout=True)

    def render(self) -> Text:
        if not self.lines:
            return Text("-", style="dim")
        width = max(self.size.width, 1)
        colors = self.app.theme_variables
        return Text("\n").join(usage_line(line, width, colors) for line in self.lines)
