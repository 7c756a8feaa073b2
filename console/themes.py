"""The console's own theme, apart from its preferences: those are read before Textual is
imported (console/launch.py), the theme only once the app is."""

from __future__ import annotations

from textual.theme import Theme

from console.preferences import MONO_THEME

# Greys only: every status still reads by its glyph and word (console.formatting).
MONOCHROME = Theme(
    name=MONO_THEME,
    primary="#d0d0d0",
    secondary="#a0a0a0",
    accent="#ffffff",
    warning="#e0e0e0",
    error="#ffffff",
    success="#c0c0c0",
    foreground="#e8e8e8",
    background="#000000",
    surface="#101010",
    panel="#202020",
    dark=True,
)
