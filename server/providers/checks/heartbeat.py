"""Heartbeat evaluation: a job pings us; it is down when no ping arrives within period + grace.

Pure functions of the stored state and `now`, so the engine can evaluate them in bulk and the
tests need no clock. Semantics follow healthchecks.io: the deadline is the last ping plus the
period plus the grace time; a ping to the `/fail` URL is down at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from server.providers.checks.base import CheckOutcome


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")


def _duration(seconds: float) -> str:
    days, rest = divmod(round(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts += [f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(part for part in parts if part) or "0 s"


def heartbeat_deadline(
    *,
    last_ping_at: datetime | None,
    period_seconds: float,
    grace_seconds: float,
    created_at: datetime | None = None,
) -> datetime | None:
    """When the monitor goes down unless pinged; None when neither pinged nor created."""
    start = last_ping_at or created_at
    if start is None:
        return None
    return start + timedelta(seconds=period_seconds + grace_seconds)


def evaluate_heartbeat(
    *,
    last_ping_at: datetime | None,
    period_seconds: float,
    grace_seconds: float,
    now: datetime,
    failed_ping: bool = False,
    created_at: datetime | None = None,
) -> CheckOutcome:
    """Up or down for a heartbeat monitor at `now`.

    1. All datetimes must be timezone-aware; period must be positive, grace not negative.
    2. The last ping was a failure report (`/fail`): down, "the job reported a failure".
    3. Never pinged: the deadline counts from `created_at` (a new monitor gets one period plus
       grace); without `created_at` it is down, "no ping received yet".
    4. deadline = last ping (or creation) + period + grace. now <= deadline: up (a ping
       exactly at the deadline is on time; a last ping in the future, clock skew, is up).
    5. now > deadline: down, "no ping for <time since last ping> (expected every <period>,
       grace <grace>)".
    """
    for name, value in (("last_ping_at", last_ping_at), ("now", now), ("created_at", created_at)):
        _require_aware(name, value)
    if period_seconds <= 0 or grace_seconds < 0:
        raise ValueError("period_seconds must be positive and grace_seconds not negative")
    if failed_ping:
        return CheckOutcome(
            status="down", checked_at=now, attempts=1, error="the job reported a failure"
        )
    deadline = heartbeat_deadline(
        last_ping_at=last_ping_at,
        period_seconds=period_seconds,
        grace_seconds=grace_seconds,
        created_at=created_at,
    )
    if deadline is None:
        return CheckOutcome(status="down", checked_at=now, attempts=1, error="no ping received yet")
    if now <= deadline:
        return CheckOutcome(status="up", checked_at=now, attempts=1)
    expected = f"expected every {_duration(period_seconds)}, grace {_duration(grace_seconds)}"
    if last_ping_at is None:
        error = f"no ping received yet ({expected})"
    else:
        silence = _duration((now - last_ping_at).total_seconds())
        error = f"no ping for {silence} ({expected})"
    return CheckOutcome(status="down", checked_at=now, attempts=1, error=error)
