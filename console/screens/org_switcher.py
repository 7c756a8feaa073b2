"""Pick another organization of the signed-in user (`o`, or `:org`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from shared.api.auth import OrganizationSummary


class OrgSwitcherScreen(ModalScreen[int | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="orgs.cancel"),
        Binding("j", "down", show=False),
        Binding("k", "up", show=False),
    ]

    def __init__(self, organizations: list[OrganizationSummary], current_id: int) -> None:
        super().__init__(classes="dialog-screen")
        self._organizations = organizations
        self._current_id = current_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Switch organization", classes="question")
            yield OptionList(
                *(
                    Option(
                        f"{'● ' if org.id == self._current_id else '  '}{org.name}  ({org.role})",
                        id=str(org.id),
                    )
                    for org in self._organizations
                ),
                id="orgs",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0) or None)

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
