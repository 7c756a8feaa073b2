"""The top line of every view: where you are, who you are, and whether events are live."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

CONNECTION_LABELS = {
    "connecting": ("◌ connecting", "secondary"),
    "live": ("● live", "success"),
    "reconnecting": ("◌ reconnecting", "warning"),
}


class StatusBar(Static):
    connection: reactive[str] = reactive("connecting")
    identity: reactive[str] = reactive("")

    def __init__(self, view: str) -> None:
        super().__init__(id="status-bar")
        self._view = view

    def on_mount(self) -> None:
        app = self.app
        self.watch(app, "connection", self._on_connection)
        self.watch(app, "identity", self._on_identity)

    def _on_connection(self, value: str) -> None:
        self.connection = value

    def _on_identity(self, value: str) -> None:
        self.identity = value

    def render(self) -> Text:
        label, variable = CONNECTION_LABELS.get(self.connection, (self.connection, "secondary"))
        colors = self.app.theme_variables
        line = Text.assemble(
            ("upmetr", "bold"),
            " > ",
            (self._view, "bold"),
            "  ",
            self.identity,
        )
        if getattr(self.app, "readonly", False):
            line.append("  [read-only]", style=colors.get("warning", ""))
        line.append("  ")
        line.append(label, style=colors.get(variable, ""))
        return line
