"""Maintenance windows as pure functions: which window is in effect, which come next.

A window is one-off (`starts_at`..`ends_at`, UTC) or recurring: an RFC 5545 RRULE whose
DTSTART is `starts_at` read as a wall-clock time in the window's IANA `timezone`, each
occurrence lasting `duration_minutes`. Occurrences follow the local wall clock across DST
(a 02:30 daily window stays at 02:30 local in summer and winter). Where the wall clock
is ambiguous (PEP 495):
- a time the clocks skip (spring forward: 02:30 does not exist in Europe/Berlin on the
  last Sunday of March) starts when the clock jumps, at 03:00 local; the duration is
  elapsed time, so a 60 minute window ends at 04:00;
- a time that happens twice (fall back: 02:30 exists at +02:00 and at +01:00) starts at
  its first occurrence (fold=0); the window does not repeat on the second one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

# Sub-hourly rules would make one window thousands of occurrences a day.
_ALLOWED_FREQUENCIES = {YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY}


class Window(Protocol):
    """What the functions read of a window (the MaintenanceWindow row fits)."""

    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime | None: ...
    @property
    def recurrence(self) -> str | None: ...
    @property
    def duration_minutes(self) -> int | None: ...
    @property
    def timezone(self) -> str: ...


@dataclass(frozen=True)
class Occurrence:
    window: Window
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC


class InvalidWindow(ValueError):
    """A window that cannot be used; `field` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidWindow("timezone", f"unknown IANA time zone {name!r}") from exc


def normalize_rule(text: str) -> str:
    """The RRULE without its optional `RRULE:` prefix; DTSTART comes from starts_at."""
    rule = text.strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[len("RRULE:") :]
    return rule


def parse_rule(text: str, local_start: datetime) -> rrule:
    """The rule anchored at `local_start` (naive local wall time); InvalidWindow if bad."""
    rule_text = normalize_rule(text)
    if "DTSTART" in rule_text.upper() or "\n" in rule_text:
        raise InvalidWindow("recurrence", "give one RRULE; its start is starts_at")
    try:
        rule = rrulestr(rule_text, dtstart=local_start)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise InvalidWindow("recurrence", f"not a valid RRULE ({exc})") from exc
    if not isinstance(rule, rrule):  # pragma: no cover - rrulestr returns rruleset for sets
        raise InvalidWindow("recurrence", "give one RRULE")
    if rule._freq not in _ALLOWED_FREQUENCIES:
        raise InvalidWindow("recurrence", "FREQ must be YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY")
    if rule.after(local_start, inc=True) is None:
        raise InvalidWindow("recurrence", "the rule has no occurrence")
    return rule


def to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    """An aware instant as naive wall-clock time in `tz`."""
    return moment.astimezone(tz).replace(tzinfo=None)


def to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in `tz` as a UTC instant, resolving DST as the module says."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if to_local(first, tz) == wall:
        return first  # exists (the first of two, if it happens twice)
    # Skipped by a forward jump: fold=1 reads it with the offset after the jump, an instant
    # before the jump; the jump itself is the first instant whose wall time is >= `wall`.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if to_local(middle, tz) >= wall:
            high = middle
        else:
            low = middle
    # Offsets change on whole seconds, so the jump is the whole second just after `low`.
    return low.replace(microsecond=0) + timedelta(seconds=1)


def _duration(window: Window) -> timedelta:
    return timedelta(minutes=window.duration_minutes or 0)


def occurrences_from(window: Window, since: datetime) -> Iterator[Occurrence]:
    """Occurrences of `window` that end after `since` (UTC), in order of start."""
    if not window.recurrence:
        if window.ends_at is not None and window.ends_at > since:
            yield Occurrence(window, window.starts_at, window.ends_at)
        return
    tz = zone(window.timezone)
    duration = _duration(window)
    rule = parse_rule(window.recurrence, to_local(window.starts_at, tz))
    # Wall time and UTC differ by at most a day; start early enough to catch a running one.
    search_from = to_local(since - duration, tz) - timedelta(days=1)
    for wall in rule.xafter(search_from, inc=True):
        start = to_utc(wall, tz)
        if start + duration > since:
            yield Occurrence(window, start, start + duration)


def active_window(windows: Iterable[Window], now: datetime) -> Window | None:
    """The window in effect at `now` (the one ending last, if several overlap)."""
    current = active_occurrence(windows, now)
    return current.window if current else None


def active_occurrence(windows: Iterable[Window], now: datetime) -> Occurrence | None:
    best: Occurrence | None = None
    for window in windows:
        first = next(occurrences_from(window, now), None)
        running = first is not None and first.starts_at <= now < first.ends_at
        if running and first and (best is None or first.ends_at > best.ends_at):
            best = first
    return best


def next_occurrence(window: Window, now: datetime) -> Occurrence | None:
    """The occurrence running at `now`, else the next one; None when none is left."""
    return next(occurrences_from(window, now), None)
