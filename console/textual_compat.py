"""What the console knows about how Textual works beyond a call it offers, in one place.

Textual documents what these rules do but offers no call that answers them, so the console
computes them itself, from public attributes where it can; the private names it cannot do
without (named below) are read here and nowhere else. tests/console/test_textual_compat.py
runs each rule against the installed Textual's own behaviour, so a release that changes
one fails there, not in a view, and fails when code outside this module names a private
attribute of Textual's.

- `size_classes`: the breakpoint classes a screen gets at a size (App.HORIZONTAL_BREAKPOINTS
  and VERTICAL_BREAKPOINTS, "the minimum width where the class should be applied"). A view
  adds them before it is first styled: arriving after the mount, they restyle every widget
  (measured side by side: 70-80 ms more CPU before the first paint without them).
- `class_bindings`: the bindings a node of a class has before any keymap (each class's
  BINDINGS along its bases, a subclass's bindings for a key replacing its bases', none of
  the bases' after `inherit_bindings=False`), for the help view, which lists the bindings
  of views that are not on screen.
- `DrawnAfterBatch`: a screen that renders no frame inside a batch update (App.batch_update,
  and the one Textual opens while the app starts), where the frame is thrown away
  (App._display), and is drawn once, whole, when the batch ends. No call offers that; it
  overrides Screen._compositor_refresh and reads App._batch_count and sets
  Screen._repaint_required. Measured side by side (docs/benchmarks.md): without it the
  console renders six frames or more (five thrown away) before the first one shows, instead
  of two, and spends 80-140 ms more CPU before its first paint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.screen import Screen

Breakpoints = Sequence[tuple[int, str]]


def breakpoint_class(dimension: int, breakpoints: Breakpoints) -> str | None:
    """The class of the largest breakpoint at most `dimension` cells, if any."""
    reached = [(start, name) for start, name in breakpoints if dimension >= start]
    return max(reached)[1] if reached else None


def size_classes(screen: Screen[Any], app: App[Any]) -> list[str]:
    """The breakpoint classes Textual gives `screen` at the app's size: the screen's own
    breakpoints for each direction, else the app's."""
    width, height = app.size
    horizontal = screen.HORIZONTAL_BREAKPOINTS
    vertical = screen.VERTICAL_BREAKPOINTS
    if horizontal is None:
        horizontal = app.HORIZONTAL_BREAKPOINTS or []
    if vertical is None:
        vertical = app.VERTICAL_BREAKPOINTS or []
    found = (breakpoint_class(width, horizontal), breakpoint_class(height, vertical))
    return [name for name in found if name is not None]


def class_bindings(node_class: type[DOMNode]) -> list[Binding]:
    """The bindings of a `node_class` node, before the keymap, in the order declared.

    A class declared with `inherit_bindings=False` (the console's app) starts afresh: its
    bases' bindings are dropped. Textual records that argument on the class only, in a
    private attribute (`_inherit_bindings`)."""
    keys: dict[str, list[Binding]] = {}
    for base in reversed(node_class.__mro__):
        if issubclass(base, DOMNode):
            if not getattr(base, "_inherit_bindings", True):
                keys.clear()
            keys.update(BindingsMap(base.__dict__.get("BINDINGS", [])).key_to_bindings)
    return [binding for bindings in keys.values() for binding in bindings]


class DrawnAfterBatch(Screen[None]):
    """A screen drawn once a batch update is over, not also inside it."""

    def _compositor_refresh(self) -> None:
        if self.app._batch_count:
            self._repaint_required = True
            return
        super()._compositor_refresh()
