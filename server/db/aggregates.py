"""Aggregates SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, literal
from sqlalchemy.dialects.postgresql import aggregate_order_by


def joined(value: Any, *, order_by: Any, dialect: str) -> ColumnElement[str]:
    """A group's values as text joined with commas, in `order_by`'s order.

    SQLite's group_concat joins in the order the rows come (the index's, for a group read
    along it) and turns numbers into text itself; PostgreSQL's string_agg takes text and
    an explicit order (https://www.postgresql.org/docs/15/functions-aggregate.html)."""
    if dialect == "postgresql":
        return func.string_agg(
            cast(value, String), aggregate_order_by(literal(",", String), order_by)
        )
    return func.group_concat(value)
