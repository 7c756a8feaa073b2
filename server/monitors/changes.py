"""Telling the check engine that a request changed a monitor."""

from __future__ import annotations

from datetime import UTC, datetime

from server.monitors.models import Monitor
from server.service_context import Context, Wake


def touched(ctx: Context, monitor: Monitor) -> None:
    """The engine reloads monitors whose updated_at moved. It polls every second, and at
    once when this request commits, so a new or resumed monitor is checked without delay."""
    monitor.updated_at = datetime.now(UTC)
    ctx.wake(Wake.checks)
