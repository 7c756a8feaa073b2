"""A line under the status bar while the server refuses requests for the rate limit:
`▲ Rate limited by the server: reading again in 23 s`, counting down.

It says why the view may show nothing yet (its reads wait for the seconds the server named
in `Retry-After`) rather than leaving an empty view that looks live.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class RateLimitBanner(Widget):
    DEFAULT_CSS = """
    RateLimitBanner {
        height: 1;
        padding: 0 1;
        background: $error 25%;
        display: none;
    }
    RateLimitBanner.-shown {
        display: block;
    }
    """

    seconds_left: reactive[int] = reactive(0)

    def watch_seconds_left(self, seconds: int) -> None:
        self.set_class(seconds > 0, "-shown")

    def render(self) -> Text:
        colors = self.app.theme_variables
        return Text.assemble(
            ("▲ Rate limited by the server", f"bold {colors.get('error', '')}".strip()),
            f": reading again in {self.seconds_left} s",
            (" (the limit is per user)", "dim"),  # shared by their consoles and scripts
            no_wrap=True,
            overflow="ellipsis",
        )
