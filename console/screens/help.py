"""Every key binding of the console, as it is mapped now (config overrides included)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode

from console.commands import ORG_WORDS, QUIT_WORDS, VIEW_ALIASES
from console.screens.view import ViewScreen
from console.widgets.resource_table import ResourceTable

COLUMNS = ("WHERE", "KEY", "ACTION", "BINDING ID")


def _bindings(node_class: type[DOMNode]) -> Iterable[Binding]:
    for bindings in node_class._merge_bindings().key_to_bindings.values():
        yield from bindings


class HelpScreen(ViewScreen):
    VIEW = "help"

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="help")

    async def load(self) -> None:
        keymap = self.app._keymap
        shared = {binding.id or binding.action for binding in _bindings(ViewScreen)}
        places: list[tuple[str, type[DOMNode]]] = [
            ("everywhere", type(self.app)),
            ("every view", ViewScreen),
            ("tables", ResourceTable),
            *self.upmetr.help_places(),
        ]
        rows: list[tuple[str, str, str, str]] = []
        for where, node_class in places:
            for binding in _bindings(node_class):
                ident = binding.id or binding.action
                if node_class is not ViewScreen and ident in shared:
                    continue  # inherited from every view: listed once, there
                key = keymap.get(binding.id, binding.key) if binding.id else binding.key
                label = binding.description or binding.action
                display = ", ".join(
                    self.app.get_key_display(Binding(k, "")) for k in key.split(",")
                )
                rows.append((where, display, label, binding.id or ""))
        for view, aliases in VIEW_ALIASES.items():
            rows.append((":command", ", ".join((view, *aliases)), f"open {view}", ""))
        rows.append((":command", ", ".join(ORG_WORDS), "switch organization", ""))
        rows.append((":command", ", ".join(QUIT_WORDS), "quit", ""))
        rows.append(("/filter", "text or regex", "show matching rows; ! in front inverts", ""))
        self.query_one(ResourceTable).set_rows(
            [(index, list(row)) for index, row in enumerate(rows)]
        )

    def apply_filter(self, text: str) -> None:
        self.query_one(ResourceTable).apply_filter(text)
