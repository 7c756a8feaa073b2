"""A DataTable of API objects with vim keys, a live `/` filter and marks for bulk actions.

Rows are keyed by the object's id, so a live event updates its row in place and the
cursor stays on the same object across reloads and filters. Cells are rich Text: plain
strings are taken literally (a title like "[prod] down" is not console markup). A cell
may be a tuple of forms, longest first, for narrow terminals.

The columns shown, and their widths, fit the table's width (console/widgets/column_fit.py):
laid out again when the table is resized, when its rows change, and when a live cell
is wider than its column's full width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable

from console.commands import RowFilter
from console.widgets.column_fit import PADDING, Col, Forms, Span, fit, in_width, measure

Cell = str | Text | tuple[str | Text, ...]
Cells = Sequence[Cell]
Values = Iterable[tuple[int, Cell]]  # one column's cell of some rows
MARK = "✔"
# How often relative times ("30s") are drawn again, from what the table holds: no request.
TICK_SECONDS = 1.0


def as_text(value: str | Text) -> Text:
    return value if isinstance(value, Text) else Text(value)


def as_forms(cell: Cell) -> Forms:
    if isinstance(cell, tuple):
        return tuple(as_text(form) for form in cell) or (Text(),)
    return (as_text(cell),)


class ResourceTable(DataTable[str | Text]):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
        Binding("space", "toggle_mark", "Mark", show=False, id="table.mark"),
    ]

    def __init__(
        self,
        columns: Sequence[str | Col],
        *,
        widths: Mapping[str, int] | None = None,
        markable: bool = False,
        id: str | None = None,
    ):
        """`widths` fixes the width of columns whose values change live but stay short (a
        status, a latency): they never make the table lay itself out again. A column given
        by name alone ranks by its place, the leftmost kept longest."""
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        fixed = dict(widths or {})
        self._columns = [
            Col(column, width=fixed.get(column)) if isinstance(column, str) else column
            for column in columns
        ]
        self._headers = [column.name for column in self._columns]
        self._markable = markable
        self._rows: dict[int, list[Forms]] = {}
        self._spans: list[Span] | None = None  # measured from the rows; None: measure again
        self._layout: list[int | None] = []  # each column's width now, None when left out
        self._redraw_due = False
        self._order: list[int] = []
        self._filter = RowFilter()
        self._title_parts: tuple[str, str, str] | None = None
        self.marked: set[int] = set()

    def on_mount(self) -> None:
        self._lay_out()

    def on_resize(self, event: events.Resize) -> None:
        if self._layout != self._fitted():
            self._redraw()

    def _available(self) -> int:
        """The width the columns may take: the table's, less a vertical scrollbar when the
        rows shown overflow it, and the mark column."""
        width = self.content_size.width
        if width <= 0:  # not laid out yet: everything, until the first resize
            return 10_000
        shown = sum(1 for row_id in self._order if self._shown(row_id))
        if shown + 1 > self.content_size.height:
            width -= self.styles.scrollbar_size_vertical
        if self._markable:
            width -= 1 + PADDING
        return width

    def _fitted(self) -> list[int | None]:
        if self._spans is None:
            self._spans = [
                measure(column, [cells[index] for cells in self._rows.values()])
                for index, column in enumerate(self._columns)
            ]
        return fit(self._columns, self._spans, self._available())

    def _lay_out(self) -> None:
        """Set the columns for the width there is, if they changed."""
        layout = self._fitted()
        if layout == self._layout and self.columns:
            return
        self._layout = layout
        self.clear(columns=True)
        if self._markable:
            self.add_column(" ", key="mark", width=1)
        for header, width in zip(self._headers, layout, strict=True):
            if width is not None:
                self.add_column(header, key=header, width=width)

    def _fitted_cells(self, row: list[Forms]) -> list[Text]:
        """A row's cells in the columns shown, each in the form that fits its width."""
        return [
            in_width(forms, width)
            for forms, width in zip(row, self._layout, strict=True)
            if width is not None
        ]

    @property
    def current_id(self) -> int | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    @property
    def selected_ids(self) -> list[int]:
        """The marked rows still shown, else the row under the cursor."""
        shown = [row_id for row_id in self._order if row_id in self.marked and self._shown(row_id)]
        if shown:
            return shown
        current = self.current_id
        return [] if current is None else [current]

    def set_rows(self, rows: Sequence[tuple[int, Cells]]) -> None:
        """Replace every row, keeping the cursor on the same object when it is still here."""
        self._rows = {row_id: [as_forms(cell) for cell in cells] for row_id, cells in rows}
        self._order = [row_id for row_id, _ in rows]
        self.marked &= set(self._rows)
        self._spans = None
        self._redraw()

    def upsert_row(self, row_id: int, cells: Cells, *, first: bool = False) -> None:
        """Change one row in place, or add it (at the top with `first`)."""
        if row_id not in self._rows:
            self._order.insert(0, row_id) if first else self._order.append(row_id)
        row = [as_forms(cell) for cell in cells]
        self._rows[row_id] = row
        on_screen = str(row_id) in self.rows
        if self._spans is not None and any(
            measure(column, [forms]).full > span.full
            for column, forms, span in zip(self._columns, row, self._spans, strict=True)
        ):
            # A wider cell: lay out again once after this burst of events.
            self._spans = None
            self._redraw_soon()
        elif self._shown(row_id) and on_screen:
            texts = self._fitted_cells(row)
            shown = [h for h, w in zip(self._headers, self._layout, strict=True) if w is not None]
            for header, text in zip(shown, texts, strict=True):
                self.update_cell(str(row_id), header, text)
        elif self._shown(row_id) or on_screen:
            self._redraw_soon()
        # else: filtered out before and after; nothing on screen changes

    @property
    def shown_headers(self) -> list[str]:
        """The columns shown in the width there is now."""
        return [h for h, w in zip(self._headers, self._layout, strict=True) if w is not None]

    def texts(self) -> list[str]:
        """Each row the filter keeps, in order, as text: every cell in its longest form,
        whatever the width shows (a mark first on a markable table)."""
        return [
            " ".join(
                [*([MARK if row_id in self.marked else ""] if self._markable else [])]
                + [forms[0].plain for forms in self._rows[row_id]]
            )
            for row_id in self._order
            if self._shown(row_id)
        ]

    @property
    def shown_count(self) -> int:
        """How many rows the filter keeps."""
        return sum(1 for row_id in self._order if self._shown(row_id))

    def _redraw_soon(self) -> None:
        if not self._redraw_due:
            self._redraw_due = True
            self.call_after_refresh(self._redraw)

    def drop(self, row_id: int) -> None:
        if self._rows.pop(row_id, None) is not None:
            self._order.remove(row_id)
            self.marked.discard(row_id)
            self._spans = None
            self._redraw()

    def apply_filter(self, text: str) -> None:
        """Show only rows matching the filter."""
        self._filter = RowFilter.parse(text)
        self._redraw()

    def follow_time(
        self, column: str, values: Callable[[], Values], seconds: float = TICK_SECONDS
    ) -> None:
        """Every `seconds` while the table is in front, draw again the cells of `column`
        whose text `values()` changes: relative times (`checked 46s`) move on, computed
        from what the view holds, without a request."""

        def tick() -> None:
            if self.screen.is_active:
                self.update_column(column, values())

        self.set_interval(seconds, tick)

    def update_column(self, column: str, values: Values) -> None:
        """Change the cells of `column` whose text differs; leave the others be."""
        index = self._headers.index(column)
        width = self._layout[index] if self._layout else None
        for row_id, cell in values:
            row = self._rows.get(row_id)
            forms = as_forms(cell)
            if row is None or [f.plain for f in forms] == [f.plain for f in row[index]]:
                continue
            row[index] = forms
            if self._spans is not None and (
                measure(self._columns[index], [forms]).full > self._spans[index].full
            ):
                self._spans = None
                self._redraw_soon()
            elif width is not None and str(row_id) in self.rows:
                self.update_cell(str(row_id), column, in_width(forms, width))

    def set_title(self, name: str, counted: str, more: str = "") -> None:
        """Title the border `name (counted)more`; while a filter is on, with how many rows
        it keeps and the filter itself: `monitors (1 of 6) /pay`."""
        self._title_parts = (name, counted, more)
        self._show_title()

    def _show_title(self) -> None:
        if self._title_parts is None:
            return
        name, counted, more = self._title_parts
        if self._filter.text:
            counted = f"{self.shown_count} of {counted}"
            more += f" /{self._filter.text}"
        self.border_title = f"{name} ({counted}){more}"

    def _shown(self, row_id: int) -> bool:
        return self._filter.keeps(" ".join(str(forms[0]) for forms in self._rows[row_id]))

    def _redraw(self) -> None:
        self._redraw_due = False
        current = self.current_id
        self.clear()
        self._lay_out()
        for row_id in self._order:
            if self._shown(row_id):
                mark = [MARK if row_id in self.marked else ""] if self._markable else []
                self.add_row(*mark, *self._fitted_cells(self._rows[row_id]), key=str(row_id))
        if current is not None and str(current) in self.rows:
            self.move_cursor(row=self.get_row_index(str(current)), animate=False)
        self._show_title()

    def action_toggle_mark(self) -> None:
        row_id = self.current_id
        if not self._markable or row_id is None:
            return
        self.marked ^= {row_id}
        self.update_cell(str(row_id), "mark", MARK if row_id in self.marked else "")
        self.action_cursor_down()
