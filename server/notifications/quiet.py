"""Quiet hours: whether a member's email waits, and until when. A pure decision, so its
tests are tables of instants (both DST transitions included).

Quiet hours are wall-clock times in the member's IANA zone, `start` to `end`, across
midnight when `end` comes first ("22:00" to "07:00"). So they follow the member's clock
through daylight saving time:
- on the night the clocks go forward, 22:00-07:00 is one hour shorter in real time;
- on the night they go back, one hour longer;
- an end that falls in the skipped hour (02:30 when 02:00 jumps to 03:00) ends at the
  first instant after the gap; an end that happens twice (02:30 when 03:00 falls back to
  02:00) ends at its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _local(day: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The instant the member's clock first shows `at` on `day`'s date, as UTC (an hour
    that happens twice: its first time; an hour the clock skips: the end of the gap)."""
    wall = datetime.combine(day.date(), at)
    # fold=0: the first of two readings, or, in a gap, as if the earlier offset still held
    # (PEP 495), which lands after the gap.
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap: the first whole second whose reading is `at` or later (the gap's end).
    low = int(wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())  # before it
    high = int(instant.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        reading = datetime.fromtimestamp(middle, zone).replace(tzinfo=None)
        low, high = (low, middle) if reading >= wall else (middle, high)
    return datetime.fromtimestamp(high, UTC)


def quiet_until(now: datetime, *, start: time, end: time, timezone: str) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None when `now` is not in them."""
    if start == end:
        return None
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    for days_back in (1, 0):
        day = local_now - timedelta(days=days_back)
        began = _local(day, start, zone)
        end_day = day if end > start else day + timedelta(days=1)
        ends = _local(end_day, end, zone)
        if began <= now < ends:
            return ends
    return None
