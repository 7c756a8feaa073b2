"""A DataTable of API objects with vim keys, a live `/` filter and marks for bulk actions.

Rows are keyed by the object's id, so a live event updates its row in place and the
cursor stays on the same object across reloads and filters. Cells are rich Text: plain
strings are taken literally (a title like "[prod] down" is not console markup).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import Column, ColumnKey

from console.commands import RowFilter

Cells = Sequence[str | Text]
MARK = "✔"


def as_text(value: str | Text) -> Text:
    return value if isinstance(value, Text) else Text(value)


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
        columns: Sequence[str],
        *,
        widths: Mapping[str, int] | None = None,
        markable: bool = False,
        id: str | None = None,
    ):
        """`widths` fixes the width of columns whose values change live but stay short (a
        status, a latency): they never make the table re-measure or redraw itself."""
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._headers = list(columns)
        self._widths = dict(widths or {})
        self._markable = markable
        self._rows: dict[int, list[Text]] = {}
        self._redraw_due = False
        self._order: list[int] = []
        self._filter = RowFilter()
        self.marked: set[int] = set()

    def on_mount(self) -> None:
        if self._markable:
            self.add_column(" ", key="mark", width=1)
        for header in self._headers:
            self.add_column(header, key=header, width=self._widths.get(header))

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
        self._rows = {row_id: [as_text(cell) for cell in cells] for row_id, cells in rows}
        self._order = [row_id for row_id, _ in rows]
        self.marked &= set(self._rows)
        self._redraw()

    def upsert_row(self, row_id: int, cells: Cells, *, first: bool = False) -> None:
        """Change one row in place, or add it (at the top with `first`)."""
        if row_id not in self._rows:
            self._order.insert(0, row_id) if first else self._order.append(row_id)
        texts = [as_text(cell) for cell in cells]
        self._rows[row_id] = texts
        on_screen = str(row_id) in self.rows
        if self._shown(row_id) and on_screen:
            if any(
                column.auto_width and text.cell_len > column.content_width
                for column, text in zip(self._columns_in_order(), texts, strict=True)
            ):
                # A wider cell: widen by redrawing once after this burst of events. The
                # table's own width update re-measures whole columns, per cell changed.
                self._redraw_soon()
                return
            for header, text in zip(self._headers, texts, strict=True):
                self.update_cell(str(row_id), header, text)
        elif self._shown(row_id) or on_screen:
            self._redraw_soon()
        # else: filtered out before and after; nothing on screen changes

    def _columns_in_order(self) -> list[Column]:
        return [self.columns[ColumnKey(header)] for header in self._headers]

    def _redraw_soon(self) -> None:
        if not self._redraw_due:
            self._redraw_due = True
            self.call_after_refresh(self._redraw)

    def drop(self, row_id: int) -> None:
        if self._rows.pop(row_id, None) is not None:
            self._order.remove(row_id)
            self.marked.discard(row_id)
            self._redraw()

    def apply_filter(self, text: str) -> None:
        """Show only rows matching the filter."""
        self._filter = RowFilter.parse(text)
        self._redraw()

    async def _on_idle(self, event: events.Idle) -> None:
        """DataTable sizes columns to new cells when idle, but keeps lines drawn before that
        with the old widths until something else changes (Textual issue #4470): measure
        here, then drop those lines. DataTable's own handler, called next, has nothing left."""
        measuring = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measuring:
            self._clear_caches()

    def _shown(self, row_id: int) -> bool:
        return self._filter.keeps(" ".join(str(cell) for cell in self._rows[row_id]))

    def _redraw(self) -> None:
        self._redraw_due = False
        current = self.current_id
        self.clear()
        for row_id in self._order:
            if self._shown(row_id):
                mark = [MARK if row_id in self.marked else ""] if self._markable else []
                self.add_row(*mark, *self._rows[row_id], key=str(row_id))
        if current is not None and str(current) in self.rows:
            self.move_cursor(row=self.get_row_index(str(current)), animate=False)

    def action_toggle_mark(self) -> None:
        row_id = self.current_id
        if not self._markable or row_id is None:
            return
        self.marked ^= {row_id}
        self.update_cell(str(row_id), "mark", MARK if row_id in self.marked else "")
        self.action_cursor_down()
