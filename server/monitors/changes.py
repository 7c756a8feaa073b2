"""Telling the check engine that a request changed a monitor."""

from __future__ import annotations

from datetime import UTC, datetime

from server.context import CHECK_ENGINE
from server.http.routing import Call
from server.monitors.models import Monitor


def touched(call: Call, monitor: Monitor) -> None:
    """The engine reloads monitors whose updated_at moved. It polls every second, and at
    once when this request commits, so a new or resumed monitor is checked without delay."""
    monitor.updated_at = datetime.now(UTC)
    call.after_commit(call.request.app[CHECK_ENGINE].poll_soon)
