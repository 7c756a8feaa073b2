"""Every key binding of the console, as it is mapped now (config overrides included)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import DataTable

from console.commands import ORG_WORDS, VIEW_ALIASES
from console.screens.view import ViewScreen
from console.textual_compat import class_bindings
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable

COLUMNS = (
    Col("WHERE", 80),
    Col("KEY", 90),
    Col("BINDING ID", 10),
    Col("ACTION", 70, min_width=20),
)


def _bindings(node_class: type[DOMNode]) -> Iterable[Binding]:
    """The console's own bindings of the class (they all carry an id), and the table keys;
    Textual's generic ones (tab, copy) stay out of the way."""
    for binding in class_bindings(node_class):
        if binding.system or not binding.description:
            continue
        if binding.id or node_class is DataTable:
            yield binding


def also(what: str, aliases: Sequence[str]) -> tuple[str, ...]:
    """`open audit (or :audit-log, :log)`, and shorter forms with fewer of its aliases."""
    words = [f":{alias}" for alias in sorted(aliases, key=len)]
    return tuple(
        f"{what} (or {', '.join(words[:count])})" if count else what
        for count in range(len(words), -1, -1)
    )


class HelpScreen(ViewScreen):
    VIEW = "help"

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="help")

    def action_back(self) -> None:
        """esc clears the filter, else goes back to the view help was opened from (help is a
        view of its own, not a screen over the other one, so there is nothing to dismiss)."""
        if self.filter_text:
            self._set_filter("")
        else:
            self.upmetr.action_view(self.upmetr.previous_view)

    async def load(self) -> None:
        keymap = self.upmetr.preferences.keys  # what the app's keymap was set from
        shared = {binding.id or binding.action for binding in _bindings(ViewScreen)}
        places: list[tuple[str, type[DOMNode]]] = [
            ("everywhere", type(self.app)),
            ("every view", ViewScreen),
            ("tables", DataTable),
            ("tables", ResourceTable),
            *self.upmetr.help_places(),
        ]
        rows: list[tuple[Cell, ...]] = []
        for where, node_class in places:
            for binding in _bindings(node_class):
                ident = binding.id or binding.action
                if node_class is not ViewScreen and ident in shared:
                    continue  # inherited from every view: listed once, there
                key = keymap.get(binding.id, binding.key) if binding.id else binding.key
                label = binding.description or binding.action
                display = ", ".join(
                    self.app.get_key_display(Binding(k.strip(), "")) for k in key.split(",")
                )
                rows.append((where, display, binding.id or "", label))
        for view, aliases in VIEW_ALIASES.items():
            rows.append((":command", f":{view}", "", also(f"open {view}", aliases)))
        rows.append((":command", ":org", "", also("switch organization", ORG_WORDS[1:])))
        rows.append((":command", ":q", "", "quit (or ctrl+c)"))
        rows.append(("/filter", "text or regex", "", "show matching rows; ! in front inverts"))
        self.query_one(ResourceTable).set_rows(
            [(index, list(row)) for index, row in enumerate(rows)]
        )
