"""The bottom line of every view: the keys that work here, fitted to the terminal's width.

One line of text rather than a widget per key (Textual's Footer): at 80 columns its keys
were cut at the right edge, `? Help  o ▏^p palette`. This footer tries the keys with
their labels, then with shorter labels, then leaves out the least important keys one by
one until the line fits; `?` (help, which lists every key) always stays. A click on a key
presses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget

# Labels for narrow terminals; a label not listed is short already.
SHORT_LABELS = {
    "Pause/Resume": "Pause",
    "Check now": "Check",
    "Next page": "Next",
    "Previous page": "Prev",
    "Command": "Cmd",
    "Sync now": "Sync",
    "palette": "",
}
# The keys left out first when even the short labels do not fit (lowest first); a view's
# own keys rank DEFAULT_RANK, and help is never left out.
RANKS = {
    "palette": 0,
    "app.org": 10,
    "app.command": 20,
    "view.filter": 30,
    "app.help": 1000,
}
DEFAULT_RANK = 50
GAP = "  "
DISABLED = Style(dim=True)


@dataclass(frozen=True)
class FooterKey:
    key: str  # what a click presses
    shown: str  # the key as the footer writes it (`^p`, `esc`)
    label: str
    rank: int
    enabled: bool

    def width(self, short: bool) -> int:
        label = self.short_label if short else self.label
        return len(self.shown) + (1 + len(label) if label else 0)

    @property
    def short_label(self) -> str:
        return SHORT_LABELS.get(self.label, self.label)


def fitted(keys: list[FooterKey], width: int) -> tuple[list[FooterKey], bool]:
    """The keys to draw in `width` columns, and whether with their short labels."""

    def needs(chosen: list[FooterKey], short: bool) -> int:
        return len(GAP) * max(len(chosen) - 1, 0) + sum(key.width(short) for key in chosen)

    room = width - 1  # a space on the left
    for short in (False, True):
        if needs(keys, short) <= room:
            return keys, short
    chosen = list(keys)
    for key in sorted(keys, key=lambda key: key.rank):
        if needs(chosen, True) <= room or key.rank >= RANKS["app.help"]:
            break
        chosen.remove(key)
    return chosen, True


class KeyFooter(Widget):
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyFooter > .key-footer--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyFooter > .key-footer--label {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    """
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--label"}

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, FooterKey]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def keys(self) -> list[FooterKey]:
        """The screen's keys to show, in their order, one per action; the palette last."""
        app = self.app
        found: dict[str, FooterKey] = {}
        palette: FooterKey | None = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            is_palette = app.ENABLE_COMMAND_PALETTE and binding.key == app.COMMAND_PALETTE_BINDING
            if is_palette:
                palette = self._key(binding, enabled, "palette")
            elif binding.show and binding.action not in found:
                found[binding.action] = self._key(binding, enabled, binding.id or "")
        return [*found.values(), *([palette] if palette else [])]

    def _key(self, binding: Binding, enabled: bool, ident: str) -> FooterKey:
        return FooterKey(
            binding.key.split(",")[0],
            self.app.get_key_display(binding),
            binding.description,
            RANKS.get(ident, DEFAULT_RANK),
            enabled,
        )

    def render(self) -> Text:
        chosen, short = fitted(self.keys(), self.size.width)
        key_style = self.get_component_rich_style("key-footer--key")
        label_style = self.get_component_rich_style("key-footer--label")
        text = Text(" ", no_wrap=True, overflow="crop")
        self._spans = []
        for index, key in enumerate(chosen):
            if index:
                text.append(GAP)
            start = text.cell_len
            dim = Style() if key.enabled else DISABLED
            text.append(key.shown, style=key_style + dim)
            label = key.short_label if short else key.label
            if label:
                text.append(f" {label}", style=label_style + dim)
            self._spans.append((start, text.cell_len, key))
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                if key.enabled:
                    self.app.simulate_key(key.key)
                else:
                    self.app.bell()
                return
