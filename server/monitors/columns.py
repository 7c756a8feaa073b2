"""Compact column types for the tables that grow with every check (results and rollups).

A 60 s monitor keeps thousands of rows, so each byte of a row counts (ARCHITECTURE.md,
"Data lifecycle"): times are integers from the Unix epoch (4 to 8 bytes, where datetime
text takes 26), and words from a short fixed list are small integers (SQLite stores 0
and 1 in the record header alone). The Python side still sees aware datetimes and words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, SmallInteger, TypeDecorator
from sqlalchemy.engine import Dialect

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given; times are UTC and aware")
    return value


class EpochMicroseconds(TypeDecorator[datetime]):
    """An aware datetime, exact to the microsecond, as microseconds since the epoch."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return (_aware(value) - EPOCH) // _MICROSECOND

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else EPOCH + timedelta(microseconds=value)


class EpochSeconds(TypeDecorator[datetime]):
    """An aware datetime on a whole second (a bucket start), as seconds since the epoch."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return (_aware(value) - EPOCH) // timedelta(seconds=1)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else EPOCH + timedelta(seconds=value)


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
