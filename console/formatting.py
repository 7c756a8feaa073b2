"""How the console writes times, durations, statuses and latencies: short, and readable
without colour (every status carries a glyph and a word, colour only adds to it)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

# Glyph and theme variable per monitor or incident status; the word is the status itself.
_STATUS_STYLES: dict[str, tuple[str, str]] = {
    "up": ("●", "success"),
    "down": ("▼", "error"),
    "degraded": ("◆", "warning"),
    "pending": ("○", "secondary"),
    "paused": ("‖", "secondary"),
    "maintenance": ("◇", "accent"),
    "unknown": ("?", "secondary"),
    "open": ("●", "error"),
    "acknowledged": ("◐", "warning"),
    "resolved": ("✓", "success"),
    "critical": ("▲", "error"),
    "error": ("▲", "error"),
    "warning": ("△", "warning"),
    "info": ("·", "primary"),
    "success": ("✓", "success"),
    "failure": ("✗", "error"),
}

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def status_text(status: str, colors: dict[str, str] | None = None) -> Text:
    """`● up`, `▼ down`...; coloured from the theme's variables when `colors` is given."""
    glyph, variable = _STATUS_STYLES.get(status, ("·", "foreground"))
    style = (colors or {}).get(variable, "")
    return Text(f"{glyph} {status}", style=style)


def ago(moment: datetime | None, now: datetime) -> str:
    """`12s`, `5m`, `3h`, `2d` ago; `-` when never."""
    if moment is None:
        return "-"
    return short_duration((now - moment).total_seconds())


def short_duration(seconds: float) -> str:
    """The largest whole unit: `45s`, `12m`, `5h`, `3d`."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def spark(values: list[float], width: int = 12) -> str:
    """The last `width` values as block characters, scaled between their min and max."""
    recent = values[-width:]
    if not recent:
        return ""
    low, high = min(recent), max(recent)
    span = (high - low) or 1.0
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((value - low) / span * top)] for value in recent)


KIB = 1024


def byte_size(count: float | None) -> str:
    """Bytes in the largest binary unit that keeps at least one: `15.6 GiB`."""
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < KIB:
            # A tenth is worth reading below 100 only: `1.2 MiB`, `300 KiB`.
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= KIB
    return f"{value:.1f} TiB"
