"""Compact column types for the tables that grow with every check (results and rollups).

A 60 s monitor keeps thousands of rows, so each byte of a row counts (ARCHITECTURE.md,
"Data lifecycle"): times are integers from the Unix epoch (4 to 8 bytes, where datetime
text takes 26), and words from a short fixed list are small integers (SQLite stores 0
and 1 in the record header alone). The Python side still sees aware datetimes and words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import SmallInteger, TypeDecorator
from sqlalchemy.engine import Dialect

from server.db.base import Int64

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given; times are UTC and aware")
    return value


class _Epoch(TypeDecorator[datetime]):
    """An aware datetime as a whole number of `unit` since the epoch."""

    impl = Int64
    cache_ok = True
    unit: timedelta

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return (_aware(value) - EPOCH) // self.unit

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else EPOCH + value * self.unit


class EpochMicroseconds(_Epoch):
    """Exact to the microsecond (a check's time)."""

    cache_ok = True  # read from each class's own attributes
    unit = timedelta(microseconds=1)


class EpochSeconds(_Epoch):
    """On a whole second (a bucket's start). A time given with a fraction of a second is
    taken down to its second, so a comparison with one is exact to the second only."""

    cache_ok = True
    unit = timedelta(seconds=1)


class Coded(TypeDecorator[str]):
    """One word of a fixed list, stored as its position in the list."""

    impl = SmallInteger
    cache_ok = True

    def __init__(self, words: tuple[str, ...]) -> None:
        super().__init__()
        self.words = words
        self._codes = {word: code for code, word in enumerate(words)}

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        try:
            return self._codes[value]
        except KeyError:
            raise ValueError(f"{value!r} is not one of {', '.join(self.words)}") from None

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.words[value]
