"""Messages that travel up the console's widget tree (attributes go down, messages go up)."""

from __future__ import annotations

from textual.message import Message


class PromptSubmitted(Message):
    """The prompt line was submitted: `kind` is ":" (a command) or "/" (a filter)."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__()
        self.kind = kind
        self.value = value


class FilterChanged(Message):
    """The filter as typed so far (applied live, like k9s); empty clears it."""

    def __init__(self, value: str) -> None:
        super().__init__()
        self.value = value
