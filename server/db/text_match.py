"""LIKE patterns for free-text filters (`?q=`, `?tag=`), with the wildcards escaped."""

from __future__ import annotations


def containing(text: str, *, lower: bool = True) -> str:
    """A pattern matching values that contain `text` (lowered, for a lowered column);
    use it with `escape="\\\\"`, so `%` and `_` in `text` match themselves."""
    text = text.lower() if lower else text
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
