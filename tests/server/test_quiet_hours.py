"""Quiet hours as the member's clock reads them, across both DST transitions."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from server.notifications.quiet import quiet_until

PARIS = "Europe/Paris"  # CET +1, CEST +2; 2026: forward Mar 29 02:00, back Oct 25 03:00
NIGHT = {"start": time(22, 0), "end": time(7, 0)}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        ("2026-01-14 20:59", None),  # 21:59 CET: not yet
        ("2026-01-14 21:00", "2026-01-15 06:00"),  # 22:00 CET
        ("2026-01-15 03:00", "2026-01-15 06:00"),  # 04:00 CET, after midnight
        ("2026-01-15 06:00", None),  # 07:00 CET: over
        ("2026-07-01 20:30", "2026-07-02 05:00"),  # 22:30 CEST
        # The night the clocks go forward: 22:00 CET to 07:00 CEST, 8 hours of real time.
        ("2026-03-28 21:00", "2026-03-29 05:00"),
        ("2026-03-29 01:30", "2026-03-29 05:00"),  # 03:30 CEST, just after the jump
        # The night they go back: 22:00 CEST to 07:00 CET, 10 hours.
        ("2026-10-24 20:00", "2026-10-25 06:00"),
        ("2026-10-25 00:30", "2026-10-25 06:00"),  # the first 02:30
        ("2026-10-25 01:30", "2026-10-25 06:00"),  # the second 02:30
        ("2026-10-25 05:59", "2026-10-25 06:00"),
        ("2026-10-25 06:00", None),
    ],
)
def test_a_night_follows_the_members_clock(now: str, until: str | None) -> None:
    expected = utc(until) if until else None
    assert quiet_until(utc(now), **NIGHT, timezone=PARIS) == expected


def test_an_end_in_the_skipped_hour_is_the_end_of_the_gap() -> None:
    # 02:30 does not exist on 2026-03-29 in Paris: the clock reads 03:00 at 01:00 UTC.
    found = quiet_until(utc("2026-03-28 23:00"), start=time(23), end=time(2, 30), timezone=PARIS)
    assert found == utc("2026-03-29 01:00")


def test_an_end_that_happens_twice_is_its_first_time() -> None:
    # 02:30 happens twice on 2026-10-25 in Paris: first at 00:30 UTC (CEST).
    found = quiet_until(utc("2026-10-24 22:00"), start=time(23), end=time(2, 30), timezone=PARIS)
    assert found == utc("2026-10-25 00:30")


def test_a_daytime_window_and_an_empty_one() -> None:
    lunch = {"start": time(12), "end": time(13), "timezone": "America/New_York"}
    assert quiet_until(utc("2026-06-01 16:30"), **lunch) == utc("2026-06-01 17:00")
    assert quiet_until(utc("2026-06-01 17:00"), **lunch) is None
    assert quiet_until(utc("2026-06-01 16:30"), start=time(9), end=time(9), timezone=PARIS) is None
