"""The top line of every view: where you are, who you are, and whether events are live.

The connection's state is what the line must never lose: on a narrow terminal the line
takes shorter forms (the organization and role without the email, `[ro]` for
`[read-only]`, the view without `upmetr >`, then the identity cut short) until it fits.
While the server refuses requests for the rate limit, it says `rate limited`, not `live`:
live events may still come, but nothing can be read.

Before the state comes the signed-in member's unread notifications, `✉ 3 unread` (`✉ 3`
when narrow), once the app knows the count; the word says it where the glyph does not draw.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

CONNECTION_LABELS = {
    "connecting": ("◌ connecting", "secondary"),
    "live": ("● live", "success"),
    "reconnecting": ("◌ reconnecting", "warning"),
    "rate limited": ("▲ rate limited", "error"),
}
SEPARATOR = " · "  # between the parts of the app's identity: email · organization · role


class StatusBar(Static):
    connection: reactive[str] = reactive("connecting")
    identity: reactive[str] = reactive("")
    rate_limited: reactive[bool] = reactive(False)
    unread: reactive[int | None] = reactive(None)

    def __init__(self, view: str) -> None:
        super().__init__(id="status-bar")
        self._view = view

    def on_mount(self) -> None:
        app = self.app
        self.watch(app, "connection", self._on_connection)
        self.watch(app, "identity", self._on_identity)
        self.watch(app, "unread", self._on_unread)

    def _on_connection(self, value: str) -> None:
        self.connection = value

    def _on_identity(self, value: str) -> None:
        self.identity = value

    def _on_unread(self, value: int | None) -> None:
        self.unread = value

    def _mail(self, word: bool) -> Text:
        """`  ✉ 3 unread` (or `  ✉ 3`); nothing while the count is not known."""
        if self.unread is None:
            return Text()
        style = "bold" if self.unread else "dim"
        return Text.assemble("  ", (f"✉ {self.unread}" + (" unread" if word else ""), style))

    def render(self) -> Text:
        state = "rate limited" if self.rate_limited else self.connection
        label, variable = CONNECTION_LABELS.get(state, (state, "secondary"))
        colors = self.app.theme_variables
        status = Text(label, style=colors.get(variable, ""))
        readonly_style = colors.get("warning", "")
        width = self.size.width
        for line in self._forms(status, readonly_style):
            if not width or line.cell_len <= width:
                return line
        # Nothing shorter left: cut the identity, keep the view, the state and the count whole.
        return self._line(
            self._view, self.identity, "[ro]", status, readonly_style, False, fit_to=width
        )

    def _forms(self, status: Text, readonly_style: str) -> Iterator[Text]:
        """The line from its longest form to its shortest."""
        parts = self.identity.split(SEPARATOR)
        without_email = SEPARATOR.join(parts[1:]) if len(parts) > 1 else self.identity
        for view, identity, readonly, word in (
            (f"upmetr > {self._view}", self.identity, "[read-only]", True),
            (f"upmetr > {self._view}", without_email, "[read-only]", True),
            (f"upmetr > {self._view}", without_email, "[ro]", True),
            (f"upmetr > {self._view}", without_email, "[ro]", False),
            (self._view, without_email, "[ro]", False),
        ):
            yield self._line(view, identity, readonly, status, readonly_style, word)

    def _line(
        self,
        view: str,
        identity: str,
        readonly: str,
        status: Text,
        readonly_style: str,
        word: bool,
        fit_to: int | None = None,
    ) -> Text:
        head, _, place = view.rpartition(" > ")
        line = Text.assemble((head, "bold"), " > " if head else "", (place, "bold"))
        tail = Text()
        if getattr(self.app, "readonly", False):
            tail.append("  ").append(readonly, style=readonly_style)
        tail.append_text(self._mail(word)).append("  ").append_text(status)
        if identity:
            shown = Text(identity)
            if fit_to is not None:
                room = fit_to - line.cell_len - 2 - tail.cell_len
                shown.truncate(max(room, 1), overflow="ellipsis")
            line.append("  ").append_text(shown)
        return line.append_text(tail)
