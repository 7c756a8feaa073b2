"""HTTP handlers for /monitors and /heartbeat: parse -> call service -> serialize."""

from __future__ import annotations

from datetime import UTC, datetime

from server.http.routing import Call, Trusted
from server.monitors import check_now as checks
from server.monitors import queries, windows
from server.monitors import service as monitors
from server.monitors.models import Monitor
from shared.api.common import Page
from shared.api.monitors import (
    CheckResultRead,
    DailyUptime,
    HeartbeatAck,
    MaintenanceRead,
    MonitorMetrics,
    MonitorRead,
    MonitorSummary,
)


async def _monitor(call: Call) -> Monitor:
    return await monitors.monitor_of(call.db, org_id=call.auth.org_id, monitor_id=call.path["id"])


async def list_monitors(call: Call) -> Trusted:
    """GET /monitors"""
    return Trusted(
        await monitors.list_monitors(
            call.db,
            org_id=call.auth.org_id,
            query=call.query,
            public_url=call.settings.resolved_public_url,
        )
    )


async def monitors_summary(call: Call) -> MonitorSummary:
    """GET /monitors/summary"""
    return await monitors.summary(call.db, org_id=call.auth.org_id)


async def create_monitor(call: Call) -> MonitorRead:
    """POST /monitors"""
    return await monitors.create_monitor(call.ctx, data=call.body)


async def get_monitor(call: Call) -> MonitorRead:
    """GET /monitors/{id}"""
    return await monitors.get_monitor(
        call.db,
        org_id=call.auth.org_id,
        monitor_id=call.path["id"],
        public_url=call.settings.resolved_public_url,
    )


async def update_monitor(call: Call) -> MonitorRead:
    """PATCH /monitors/{id}"""
    return await monitors.update_monitor(call.ctx, monitor_id=call.path["id"], data=call.body)


async def delete_monitor(call: Call) -> None:
    """DELETE /monitors/{id}"""
    await monitors.delete_monitor(call.ctx, monitor_id=call.path["id"])


async def pause_monitor(call: Call) -> MonitorRead:
    """POST /monitors/{id}/pause"""
    return await monitors.set_paused(call.ctx, monitor_id=call.path["id"], paused=True)


async def resume_monitor(call: Call) -> MonitorRead:
    """POST /monitors/{id}/resume"""
    return await monitors.set_paused(call.ctx, monitor_id=call.path["id"], paused=False)


async def check_now(call: Call) -> CheckResultRead:
    """POST /monitors/{id}/check-now"""
    return await checks.check_now(call.ctx, monitor_id=call.path["id"])


async def get_metrics(call: Call) -> MonitorMetrics:
    """GET /monitors/{id}/metrics"""
    return await queries.metrics(
        call.db, monitor=await _monitor(call), range_=call.query.range, now=datetime.now(UTC)
    )


async def get_daily_uptime(call: Call) -> list[DailyUptime]:
    """GET /monitors/{id}/uptime/daily"""
    return await queries.daily(
        call.db, monitor=await _monitor(call), days=call.query.days, now=datetime.now(UTC)
    )


async def list_checks(call: Call) -> Page[CheckResultRead]:
    """GET /monitors/{id}/checks"""
    monitor = await _monitor(call)
    return await queries.checks(call.db, monitor_id=monitor.id, query=call.query)


async def list_maintenance(call: Call) -> list[MaintenanceRead]:
    """GET /monitors/{id}/maintenance"""
    return await windows.list_windows(call.db, monitor=await _monitor(call))


async def create_maintenance(call: Call) -> MaintenanceRead:
    """POST /monitors/{id}/maintenance"""
    return await windows.create_window(call.ctx, monitor=await _monitor(call), data=call.body)


async def delete_maintenance(call: Call) -> None:
    """DELETE /monitors/{id}/maintenance/{window_id}"""
    await windows.delete_window(
        call.ctx, monitor=await _monitor(call), window_id=call.path["window_id"]
    )


async def heartbeat(call: Call) -> HeartbeatAck:
    """GET/POST /heartbeat/{token} (public)"""
    return await monitors.record_ping(call.db, token=call.path["token"], failed=False)


async def heartbeat_fail(call: Call) -> HeartbeatAck:
    """GET/POST /heartbeat/{token}/fail (public)"""
    return await monitors.record_ping(call.db, token=call.path["token"], failed=True)


# POST twins: OpenAPI operation ids come from handler names, so each method has its own.
async def heartbeat_post(call: Call) -> HeartbeatAck:
    """POST /heartbeat/{token} (public)"""
    return await heartbeat(call)


async def heartbeat_fail_post(call: Call) -> HeartbeatAck:
    """POST /heartbeat/{token}/fail (public)"""
    return await heartbeat_fail(call)
