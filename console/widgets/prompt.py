"""The prompt line at the bottom: `:` for commands (with history) and `/` for filters.

Hidden until asked for; esc hides it again. A filter applies as it is typed. A command
shows its completion as it is typed; tab (or right at the end) takes it.
"""

from __future__ import annotations

from textual import events, on
from textual.binding import Binding
from textual.suggester import SuggestFromList
from textual.widgets import Input

from console.commands import COMMAND_HINT, COMPLETIONS
from console.messages import FilterChanged, PromptSubmitted

COMMAND_PLACEHOLDER = f"{COMMAND_HINT} (tab completes)"
FILTER_PLACEHOLDER = "filter: regex, ! in front to invert"


class Prompt(Input):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", show=False),
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
        Binding("tab", "complete", "Complete", show=False),
    ]

    def __init__(self, history: list[str]) -> None:
        super().__init__(id="prompt")
        self.kind = ":"
        # Shared with every screen's prompt (the app owns it), newest last.
        self._history = history
        self._position = len(history)

    def open(self, kind: str, value: str = "") -> None:
        self.kind = kind
        self.placeholder = COMMAND_PLACEHOLDER if kind == ":" else FILTER_PLACEHOLDER
        self.suggester = SuggestFromList(COMPLETIONS) if kind == ":" else None
        self.border_title = kind
        self.value = value
        self._position = len(self._history)
        self.display = True
        # At once, not after the messages already queued (Widget.focus): what is typed right
        # after `:` (`:q` and enter in one go) belongs to the prompt.
        self.screen.set_focus(self)

    def action_dismiss(self) -> None:
        self.display = False
        self.screen.focus_next()

    def action_complete(self) -> None:
        """Take the completion shown (Input takes it on right at the end of the line)."""
        self.cursor_position = len(self.value)
        self.action_cursor_right()

    def action_history(self, step: int) -> None:
        if self.kind != ":" or not self._history:
            return
        self._position = max(0, min(len(self._history), self._position + step))
        self.value = self._history[self._position] if self._position < len(self._history) else ""
        self.cursor_position = len(self.value)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.kind == "/":
            self.post_message(FilterChanged(event.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if self.kind == ":" and value and (not self._history or self._history[-1] != value):
            self._history.append(value)
        self.display = False
        self.post_message(PromptSubmitted(self.kind, value))

    def on_blur(self, event: events.Blur) -> None:
        if self.kind == ":":
            self.display = False
