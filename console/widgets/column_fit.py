"""Which columns of a table to show, and how wide, in the width there is.

A column has a priority (higher stays longer), and may be narrowed to a minimum width;
a cell may come in several forms, longest first (`https://shop.example.com/api`,
`shop.example.com`). The steps:

1. Each column needs at least its least width: the widest shortest form of its cells (or
   its `min_width`, for a column whose cells may be cut with an ellipsis), never less
   than its header; it is whole at the widest shortest form, full at the widest longest.
2. While the least widths do not fit, the column of lowest priority is left out (the
   rightmost of equal ones); one column is always kept.
3. The room left goes to the shown columns by priority, each up to its full width.
4. While a column is cut (narrower than whole), the shown column of lowest priority, lower
   than the cut one's, is left out if it has a single width and leaving it out makes the
   cut column whole (an incident's title whole rather than its target); a column that
   narrows or has shorter forms stays, at its least width, and so do those above it.

A cell is then drawn in the longest of its forms that fits its column, else its shortest
form cut with an ellipsis: never a word cut without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

Forms = tuple[Text, ...]  # a cell's forms, longest first
PADDING = 2  # DataTable's cell padding, one column each side


@dataclass(frozen=True)
class Col:
    name: str
    priority: int = 0  # 0: by position, the leftmost highest
    min_width: int | None = None  # narrowed down to this, cut with an ellipsis
    width: int | None = None  # a fixed width (a live column: never re-measured)


@dataclass(frozen=True)
class Span:
    """What a column needs: its least, whole (no cell cut) and full width."""

    least: int
    whole: int
    full: int


def measure(column: Col, cells: Sequence[Forms]) -> Span:
    header = len(column.name)
    if column.width is not None:
        fixed = max(column.width, header)
        return Span(fixed, fixed, fixed)
    full = max([header, *(forms[0].cell_len for forms in cells)])
    whole = min(max([header, *(forms[-1].cell_len for forms in cells)]), full)
    least = whole if column.min_width is None else min(whole, max(column.min_width, header))
    return Span(least, whole, full)


def fit(columns: Sequence[Col], spans: Sequence[Span], available: int) -> list[int | None]:
    """Each column's width in `available` cells, None for a column left out."""
    ranked = sorted(range(len(columns)), key=lambda i: rank(columns, i))  # lowest first
    shown = set(range(len(columns)))

    def needs() -> int:
        return sum(spans[i].least + PADDING for i in shown)

    for index in ranked:
        if needs() <= available or len(shown) == 1:
            break
        shown.discard(index)
    if needs() > available:  # one column, and not even its least width fits
        (only,) = shown
        return [max(available - PADDING, 1) if i == only else None for i in range(len(columns))]
    widths = share(ranked, shown, spans, available - needs())
    while True:
        cut = [i for i in ranked if i in shown and (widths[i] or 0) < spans[i].whole]
        lowest = next(i for i in ranked if i in shown)
        single = spans[lowest].least == spans[lowest].full
        if not cut or not single or rank(columns, lowest) >= rank(columns, cut[-1]):
            return widths
        shown.discard(lowest)
        trial = share(ranked, shown, spans, available - needs())
        if (trial[cut[-1]] or 0) < spans[cut[-1]].whole:
            shown.add(lowest)
            return widths
        widths = trial


def rank(columns: Sequence[Col], index: int) -> tuple[int, int]:
    return columns[index].priority or -index, -index


def share(ranked: list[int], shown: set[int], spans: Sequence[Span], room: int) -> list[int | None]:
    """Least widths, and `room` given to the shown columns by priority up to their full."""
    widths: list[int | None] = [spans[i].least if i in shown else None for i in range(len(spans))]
    for index in reversed(ranked):
        if index in shown and room > 0:
            width = widths[index] or 0
            grow = min(spans[index].full - width, room)
            widths[index] = width + grow
            room -= grow
    return widths


def moment_forms(moment: datetime | None, *, seconds: bool = False) -> tuple[str, ...]:
    """A time as `2026-01-01 11:55[:00]`, and without the year (`01-01 11:55`) when narrow."""
    if moment is None:
        return ("-",)
    return (
        moment.strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else "")),
        moment.strftime("%m-%d %H:%M"),
    )


def actor_forms(actor: str) -> tuple[str, ...]:
    """Who did it: an email, and its name part alone (`alice`) when narrow."""
    name, at, _ = actor.partition("@")
    return (actor, name) if at and name else (actor,)


def in_width(forms: Forms, width: int) -> Text:
    """The longest form that fits `width` cells, else the shortest cut with an ellipsis."""
    for form in forms:
        if form.cell_len <= width:
            return form
    cut = forms[-1].copy()
    cut.truncate(width, overflow="ellipsis")
    return cut
