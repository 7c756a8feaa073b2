"""Status, uptime and response time badges: flat SVGs in the layout of shields.io's "flat"
style, so they sit beside other badges in a README.

Text is drawn at 10x (font-size 110, `scale(.1)`) with `textLength` set to its measured
width, as shields.io does, so a badge looks the same whichever fallback font draws it. The
width comes from the advance widths of Verdana at 11px (the font the badges name first).
The SVG has a `<title>` and `role="img"` with an `aria-label`, so it has a text alternative
when it is opened on its own or embedded with `<object>`.
"""

from __future__ import annotations

import math
import re
from xml.sax.saxutils import escape

from shared.api.status_pages import PublicStatus

BRIGHT_GREEN = "#4c1"
GREEN = "#97ca00"
YELLOW = "#dfb317"
ORANGE = "#fe7d37"
RED = "#e05d44"
BLUE = "#007ec6"
GREY = "#9f9f9f"
LABEL_GREY = "#555"
STATUS_COLORS = {
    PublicStatus.operational: BRIGHT_GREEN,
    PublicStatus.degraded: ORANGE,
    PublicStatus.down: RED,
    PublicStatus.maintenance: BLUE,
    PublicStatus.unknown: GREY,
}
NO_DATA = "no data"
PADDING = 5  # px each side of a text, as shields.io

# Advance widths of Verdana at 11px, in tenths of a pixel (the font's units per em are
# 2048: width = units / 2048 * 11), grouped by width to keep the table short.
_WIDTH_GROUPS = {
    30: "il'", 37: "fj", 39: " ", 40: ".,", 43: "t", 45: "!", 46: "I", 47: "r",
    54: ":;J", 55: "\"/\\", 56: "()[]|-sz", 57: "c", 63: "FL", 64: "?kvxy",
    66: "aeoP", 67: "TY", 68: "bdgpq", 69: "hnu", 70: "E$0123456789",
    75: "ABSVXZ*_`{}", 77: "CKR", 81: "U", 82: "HN", 85: "DG&", 87: "OQ", 88: "w",
    93: "M", 99: "#+<=>^~", 106: "m", 109: "W", 117: "@", 118: "%",
}  # fmt: skip
WIDTHS = {char: tenths for tenths, chars in _WIDTH_GROUPS.items() for char in chars}
WIDE = 110  # CJK and other full-width characters: about one em
OTHER = 70  # any other character: about a digit
# Code points outside XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def status_badge(name_or_label: str, status: PublicStatus) -> str:
    return badge(name_or_label, status.value, STATUS_COLORS[status])


def uptime_badge(label: str, pct: float | None, days: int) -> str:
    label = f"{label} ({days}d)"
    if pct is None:
        return badge(label, NO_DATA, GREY, title=f"{label}: no uptime data")
    message = percent_text(pct)
    return badge(label, message, uptime_color(pct), title=f"{label}: {message} uptime")


def response_badge(label: str, ms: float | None) -> str:
    if ms is None:
        return badge(label, NO_DATA, GREY, title=f"{label}: no response time data")
    message = f"{round(ms)} ms"
    return badge(label, message, BLUE, title=f"{label}: {message} average response")


def uptime_color(pct: float) -> str:
    if pct >= 99.9:
        return BRIGHT_GREEN
    if pct >= 99:
        return GREEN
    return YELLOW if pct >= 95 else RED


def percent_text(pct: float) -> str:
    """Two decimals at most; never "100%" when there was downtime."""
    text = f"{pct:.2f}".rstrip("0").rstrip(".")
    return "99.99%" if text == "100" and pct < 100 else f"{text}%"


def text_width(text: str) -> int:
    """The width of `text` in tenths of a pixel."""
    return sum(WIDTHS.get(char, WIDE if _is_wide(char) else OTHER) for char in text)


def badge(label: str, message: str, color: str, *, title: str | None = None) -> str:
    label, message = NOT_XML.sub("", label), NOT_XML.sub("", message)
    title = NOT_XML.sub("", title or f"{label}: {message}")
    left = math.ceil(text_width(label) / 10) + 2 * PADDING
    right = math.ceil(text_width(message) / 10) + 2 * PADDING
    width = left + right
    name = escape(title, {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img"'
        f' aria-label="{name}"><title>{name}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb"'
        ' stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="{LABEL_GREY}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,'
        'sans-serif" text-rendering="geometricPrecision" font-size="110">'
        f"{_text(label, left * 5, left - 2 * PADDING)}"
        f"{_text(message, left * 10 + right * 5, right - 2 * PADDING)}"
        "</g></svg>"
    )


def _text(text: str, x: int, width: int) -> str:
    """One text centred at `x` (tenths), with the shadow shields.io draws 1px below it."""
    body = escape(text)
    length = width * 10
    return (
        f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3"'
        f' transform="scale(.1)" textLength="{length}">{body}</text>'
        f'<text x="{x}" y="140" transform="scale(.1)" fill="#fff"'
        f' textLength="{length}">{body}</text>'
    )


def _is_wide(char: str) -> bool:
    # East Asian scripts, from Hangul Jamo up to the half-width forms block.
    return "\u1100" <= char <= "\uffdc"
