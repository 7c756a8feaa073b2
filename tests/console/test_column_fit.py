"""Which columns a table shows in the width there is (console/widgets/column_fit.py), the
footer's keys at 80 columns, and a table laid out again when the terminal is resized."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from console.widgets.column_fit import Col, Span, actor_forms, fit, in_width, measure
from console.widgets.key_footer import FooterKey, fitted
from console.widgets.resource_table import ResourceTable
from console.widgets.trouble_list import error_forms
from tests.console.console_harness import until


def forms(*values: str) -> tuple[Text, ...]:
    return tuple(Text(value) for value in values)


def test_a_column_is_whole_at_its_widest_short_form_and_full_at_its_widest_long_one() -> None:
    cells = [forms("https://shop.example.com/api/health", "shop.example.com"), forms("db:5432")]
    assert measure(Col("TARGET"), cells) == Span(16, 16, 35)
    assert measure(Col("TARGET", min_width=10), cells) == Span(10, 16, 35)
    assert measure(Col("STATUS", width=13), cells) == Span(13, 13, 13)


def test_the_columns_of_lowest_priority_are_left_out_first() -> None:
    columns = [Col("A", 100), Col("B", 10), Col("C", 50)]
    spans = [Span(10, 10, 10)] * 3
    assert fit(columns, spans, 35) == [10, None, 10]
    assert fit(columns, spans, 23) == [10, None, None]


def test_by_position_the_rightmost_column_goes_first() -> None:
    columns = [Col("A"), Col("B"), Col("C")]
    assert fit(columns, [Span(10, 10, 10)] * 3, 30) == [10, 10, None]


def test_the_room_left_goes_to_the_highest_priority_first() -> None:
    columns = [Col("NAME", 90, min_width=5), Col("NOTE", 50, min_width=5)]
    spans = [Span(5, 20, 20), Span(5, 30, 30)]
    assert fit(columns, spans, 30) == [20, 6]


def test_a_column_of_one_width_is_left_out_so_that_a_higher_one_shows_whole() -> None:
    """An incident's title whole rather than its target."""
    columns = [Col("TITLE", 90, min_width=10), Col("TARGET", 40), Col("OPENED", 85)]
    spans = [Span(10, 30, 30), Span(9, 9, 9), Span(6, 6, 6)]
    assert fit(columns, spans, 42) == [30, None, 6]


def test_a_lower_column_that_narrows_stays_and_so_do_those_above_it() -> None:
    """Monitors at 60 columns: the name cut rather than the latency left out for it, as
    the target below both narrows."""
    columns = [Col("NAME", 95, min_width=10), Col("LATENCY", 80), Col("TARGET", 70, min_width=8)]
    spans = [Span(10, 16, 16), Span(8, 8, 8), Span(8, 18, 30)]
    assert fit(columns, spans, 34) == [12, 8, 8]


def test_nothing_is_left_out_when_that_would_not_make_the_cut_column_whole() -> None:
    columns = [Col("TEXT", 90, min_width=10), Col("WHEN", 40)]
    spans = [Span(10, 200, 200), Span(11, 11, 11)]
    assert fit(columns, spans, 60) == [45, 11]


def test_a_cell_takes_its_longest_form_that_fits_else_is_cut_with_an_ellipsis() -> None:
    url = forms("https://shop.example.com/api", "shop.example.com")
    assert in_width(url, 40).plain == "https://shop.example.com/api"
    assert in_width(url, 20).plain == "shop.example.com"
    assert in_width(url, 8).plain == "shop.ex…"


def test_an_email_shortens_to_its_name() -> None:
    assert actor_forms("alice@example.com") == ("alice@example.com", "alice")
    assert actor_forms("system") == ("system",)


def key(shown: str, label: str, rank: int = 50) -> FooterKey:
    return FooterKey(shown, shown, label, rank, True)


FOOTER = [
    key("/", "Filter", 30),
    key("c", "Check now"),
    key("p", "Pause/Resume"),
    key("d", "Delete"),
    key(":", "Command", 20),
    key("?", "Help", 1000),
    key("o", "Org", 10),
    key("^p", "palette", 0),
]


def test_the_footer_keeps_its_labels_when_they_fit() -> None:
    assert fitted(FOOTER, 160) == (FOOTER, False)


def test_the_footer_shortens_labels_then_leaves_out_the_least_important_keys() -> None:
    chosen, short = fitted(FOOTER, 80)
    assert short and chosen == FOOTER  # `c Check  p Pause ... o Org  ^p`
    chosen, short = fitted(FOOTER, 50)
    assert short and [k.shown for k in chosen] == ["/", "c", "p", "d", "?"]


def test_the_footer_never_leaves_out_help() -> None:
    chosen, _ = fitted(FOOTER, 10)
    assert [k.shown for k in chosen] == ["?"]


class OneTable(App[None]):
    CSS = "ResourceTable { width: 1fr; height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield ResourceTable(
            (Col("NAME", 100), Col("TYPE", 50), Col("TARGET", 40, min_width=8)), id="t"
        )


async def test_a_table_lays_its_columns_out_again_when_the_terminal_is_resized() -> None:
    app = OneTable()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(ResourceTable)
        table.set_rows(
            [
                (
                    1,
                    [
                        "payments gateway",
                        "http",
                        ("https://pay.example.com/health", "pay.example.com"),
                    ],
                )
            ]
        )
        await until(pilot, lambda: table.shown_headers == ["NAME", "TYPE", "TARGET"])
        assert "https://pay.example.com/health" in table.render_line(1).text
        await pilot.resize_terminal(40, 10)
        await until(pilot, lambda: "pay.example.c…" in table.render_line(1).text)
        assert table.shown_headers == ["NAME", "TYPE", "TARGET"]
        await pilot.resize_terminal(20, 10)
        await until(pilot, lambda: table.shown_headers == ["NAME"])
        assert "payments gateway" in table.render_line(1).text


def test_a_check_error_has_a_short_form_for_a_narrow_column() -> None:
    assert error_forms("connection refused") == ("connection refused", "refused")
    assert error_forms("expected status 200, got 503") == (
        "expected status 200, got 503",
        "got 503",
    )
    assert error_forms("something odd") == ("something odd",)
