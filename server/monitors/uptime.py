"""Uptime and latency arithmetic over rollup rows, as pure functions.

uptime % = (up + degraded) / (up + degraded + down) over a period. Checks taken during
maintenance, and checks whose outcome is unknown (the server's own network was down),
count neither way: they are left out of both sides. A period without any counted check
has no uptime (None), not 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

Period = Literal["minute", "hour", "day"]


class Counted(Protocol):
    """What is read of a rollup row (MonitorRollup fits)."""

    @property
    def up(self) -> int: ...
    @property
    def down(self) -> int: ...
    @property
    def degraded(self) -> int: ...
    @property
    def maintenance(self) -> int: ...
    @property
    def unknown(self) -> int: ...
    @property
    def avg_ms(self) -> float | None: ...
    @property
    def measured(self) -> int: ...


@dataclass(frozen=True)
class Totals:
    up: int = 0
    down: int = 0
    degraded: int = 0
    maintenance: int = 0
    unknown: int = 0
    # Sum of latency x measured checks, so averages of buckets weigh by their checks.
    latency_weight: float = 0.0
    measured: int = 0

    @property
    def checks(self) -> int:
        return self.up + self.down + self.degraded + self.maintenance + self.unknown

    @property
    def counted(self) -> int:
        """Checks that count for uptime: not in maintenance, not unknown."""
        return self.up + self.degraded + self.down

    @property
    def uptime_pct(self) -> float | None:
        return uptime_pct(self)

    @property
    def avg_ms(self) -> float | None:
        return round(self.latency_weight / self.measured, 1) if self.measured else None


def uptime_pct(counts: Counted | Totals) -> float | None:
    """Percent up (degraded counts as up) of the counted checks, 3 decimals; None if none."""
    counted = counts.up + counts.degraded + counts.down
    if counted == 0:
        return None
    return round(100.0 * (counts.up + counts.degraded) / counted, 3)


def total(rows: Iterable[Counted]) -> Totals:
    up = down = degraded = maintenance = unknown = measured = 0
    weight = 0.0
    for row in rows:
        up += row.up
        down += row.down
        degraded += row.degraded
        maintenance += row.maintenance
        unknown += row.unknown
        # Weighed by the checks that carried a latency (measured), not by all counted ones:
        # a down check that got no answer has none, and must not water the average down.
        if row.avg_ms is not None and row.measured:
            weight += row.avg_ms * row.measured
            measured += row.measured
    return Totals(up, down, degraded, maintenance, unknown, weight, measured)


def downtime_seconds(counts: Counted | Totals, interval_seconds: int) -> int:
    """Each failed check stands for one interval of downtime."""
    return counts.down * interval_seconds


# Which rollup serves a metrics range: enough points for a chart, few enough to be cheap.
RANGES: dict[str, tuple[timedelta, Period]] = {
    "1h": (timedelta(hours=1), "minute"),
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "hour"),
    "30d": (timedelta(days=30), "day"),
}

# The uptime figures a monitor shows, each read from the rollup kept long enough for it.
UPTIME_SPANS: dict[str, tuple[timedelta, Period]] = {
    "uptime_24h": (timedelta(hours=24), "hour"),
    "uptime_7d": (timedelta(days=7), "hour"),
    "uptime_30d": (timedelta(days=30), "day"),
}


def bucket_start(moment: datetime, period: Period) -> datetime:
    """The start of the UTC bucket holding `moment`."""
    moment = moment.replace(second=0, microsecond=0)
    if period == "minute":
        return moment
    moment = moment.replace(minute=0)
    if period == "hour":
        return moment
    return moment.replace(hour=0)


def window_start(now: datetime, span: timedelta, period: Period) -> datetime:
    """The first bucket of a span ending now: the bucket holding `now - span`, excluded,
    so 24h of hour buckets is the current hour and the 23 before it."""
    step = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
    return bucket_start(now - span, period) + step[period]
