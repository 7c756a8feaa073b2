"""Every time the API writes is UTC with a trailing `Z`, whatever zone it was given in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pydantic import TypeAdapter

from shared.api.common import UtcDatetime

TIMES = TypeAdapter(list[UtcDatetime])


def test_a_time_in_another_zone_is_written_in_utc_with_z() -> None:
    paris = timezone(timedelta(hours=2))
    given = [datetime(2026, 5, 1, 14, 30, tzinfo=paris), "2026-05-01T14:30:00.250+02:00"]
    assert TIMES.dump_json(TIMES.validate_python(given)) == (
        b'["2026-05-01T12:30:00Z","2026-05-01T12:30:00.250000Z"]'
    )


def test_a_naive_time_is_taken_as_utc_and_a_utc_one_kept_to_the_microsecond() -> None:
    given = [datetime(2026, 5, 1, 12, 30), datetime(2026, 5, 1, 12, 30, 0, 7, tzinfo=UTC)]
    read = TIMES.validate_python(given)
    assert all(moment.tzinfo is UTC for moment in read)
    assert TIMES.dump_json(read) == b'["2026-05-01T12:30:00Z","2026-05-01T12:30:00.000007Z"]'
