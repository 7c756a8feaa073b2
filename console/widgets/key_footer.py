"""The bottom line of every view: the keys that work here.

Textual's footer builds its keys anew whenever the screen's bindings may have changed. While
the console starts that happens three times (the first focus, the view shown, the user's
role known), each time with the same keys, and each time costs the start its widgets'
styling. This footer builds them again only when what it would show has changed.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    _shown: Hashable = None

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = shown_keys(self.screen)
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self._shown is not None and screen is self.screen and shown_keys(screen) == self._shown:
            return
        super().bindings_changed(screen)


def shown_keys(screen: Screen[object]) -> Hashable:
    """What the footer draws of the screen's bindings: each key, its action and label,
    whether it is shown and whether it works now."""
    return tuple(
        (binding.key, binding.action, binding.description, binding.show, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
    )
