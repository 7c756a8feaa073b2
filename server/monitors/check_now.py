"""Checking a monitor at a member's request ("check now"): the answer waits for the result."""

from __future__ import annotations

import asyncio

from server.http.errors import NotFound, ServiceUnavailable
from server.monitors import recording
from server.monitors.service import monitor_of
from server.service_context import Context
from shared.api.monitors import CheckResultRead

WRITE_SECONDS = 30  # how long a person waits for a busy database before a 503


async def check_now(ctx: Context, *, monitor_id: int) -> CheckResultRead:
    """Run one check of the caller's monitor and answer once its result is stored."""
    monitor = await monitor_of(ctx.db, org_id=ctx.auth.org_id, monitor_id=monitor_id)
    engine = ctx.shared.check_engine
    if engine is None:  # pragma: no cover - every process serving the API has one
        raise ServiceUnavailable("Checks are not available on this server")
    try:
        async with asyncio.timeout(WRITE_SECONDS + 3 * (monitor.timeout_seconds + 1)):
            result_id, judged = await engine.check_now(monitor)
    except TimeoutError:
        # The check ran; its result is held by the writer and is stored once the database
        # accepts writes again.
        raise ServiceUnavailable(
            "The check ran but its result is not stored yet; the database is busy"
        ) from None
    if result_id is None:
        raise NotFound("Monitor not found")  # deleted while it was being checked
    return CheckResultRead(id=result_id, **recording.result_row(judged))
