"""Plain output for scripts: aligned tables for people, `--json` for programs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
from pydantic import BaseModel

from shared.api.common import jsonable

if TYPE_CHECKING:
    from shared.api.common import Page

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def options(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Several click options as one decorator, listed in the order `--help` shows them."""

    def apply(command: Any) -> Any:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


page_options = options(
    click.option("--page", type=click.IntRange(min=1), default=1, show_default=True),
    click.option("--per-page", type=click.IntRange(1, 200), default=50, show_default=True),
)


def print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    click.echo(json.dumps(jsonable(value), indent=2, sort_keys=False))


def print_result(value: Any, as_json: bool, human: Callable[[], object]) -> None:
    """What a command prints: `value` as JSON with --json, else what `human` writes for people."""
    if as_json:
        print_json(value)
    else:
        human()


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return str(when(value))
    return str(jsonable(value))


def when(value: datetime | None) -> str | None:
    """Minutes are enough in a table; --json keeps the exact time."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M")


def print_table(rows: Iterable[Any], columns: Sequence[tuple[str, Callable[[Any], Any]]]) -> None:
    """Columns are (heading, getter); widths fit the longest cell, two spaces apart."""
    table = [[heading.upper() for heading, _ in columns]]
    table += [[cell(get(row)) for _, get in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        click.echo(
            "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        )


def print_fields(pairs: Sequence[tuple[str, Any]]) -> None:
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        click.echo(f"{label.ljust(width)}  {cell(value)}")


def print_page(
    page: Page[Any], columns: Sequence[tuple[str, Callable[[Any], Any]]], *, numbered: bool = False
) -> None:
    """A page of a list as a table, and a line saying how to see the rest when there is more;
    `numbered` names the page shown in that line."""
    print_table(page.items, columns)
    shown = len(page.items)
    if page.total > shown:
        where = f"page {page.page}, " if numbered else ""
        click.echo(f"({shown} of {page.total}; {where}--page for more)")
