"""Maintenance windows of a monitor: create, list, delete (the time logic is maintenance.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.http.errors import BadRequest, Conflict, NotFound
from server.monitors import maintenance
from server.monitors.changes import touched
from server.monitors.maintenance import InvalidWindow
from server.monitors.models import MaintenanceWindow, Monitor
from server.service_context import Context
from shared.api.monitors import MaintenanceCreate, MaintenanceRead

MAX_WINDOWS = 100


def _by_monitor(rows: Iterable[MaintenanceWindow]) -> dict[int, list[MaintenanceWindow]]:
    by_monitor: dict[int, list[MaintenanceWindow]] = defaultdict(list)
    for row in rows:
        by_monitor[row.monitor_id].append(row)
    return by_monitor


async def windows_of(
    db: AsyncSession, monitor_ids: list[int]
) -> dict[int, list[MaintenanceWindow]]:
    if not monitor_ids:
        return defaultdict(list)
    return _by_monitor(
        await db.scalars(
            select(MaintenanceWindow).where(MaintenanceWindow.monitor_id.in_(monitor_ids))
        )
    )


async def monitors_in_maintenance(db: AsyncSession, *, org_id: int, now: datetime) -> set[int]:
    """The org's monitors inside a maintenance window now (recurrences are worked out here,
    not in SQL; an org has few windows, MAX_WINDOWS per monitor at most)."""
    rows = await db.scalars(
        select(MaintenanceWindow)
        .join(Monitor, Monitor.id == MaintenanceWindow.monitor_id)
        .where(Monitor.org_id == org_id)
    )
    return {
        monitor_id
        for monitor_id, found in _by_monitor(rows).items()
        if maintenance.active_window(found, now) is not None
    }


async def in_maintenance(db: AsyncSession, *, monitor_id: int, now: datetime) -> bool:
    """For the check engine: no incident opens while this is true."""
    found = (await windows_of(db, [monitor_id])).get(monitor_id, [])
    return maintenance.active_window(found, now) is not None


def window_read(window: MaintenanceWindow, now: datetime) -> MaintenanceRead:
    current = maintenance.next_occurrence(window, now)
    return MaintenanceRead(
        id=window.id,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        recurrence=window.recurrence,
        duration_minutes=window.duration_minutes,
        timezone=window.timezone,
        reason=window.reason,
        active=current is not None and current.starts_at <= now,
        next_starts_at=current.starts_at if current else None,
        next_ends_at=current.ends_at if current else None,
        created_at=window.created_at,
    )


async def list_windows(db: AsyncSession, *, monitor: Monitor) -> list[MaintenanceRead]:
    now = datetime.now(UTC)
    found = (await windows_of(db, [monitor.id])).get(monitor.id, [])
    return [window_read(window, now) for window in sorted(found, key=lambda w: w.id)]


def _invalid(field: str, message: str) -> BadRequest:
    return BadRequest(f"body field '{field}': {message}")


def build_window(data: MaintenanceCreate) -> MaintenanceWindow:
    """A validated window; 400 naming the field (timezone, recurrence, ends_at...)."""
    try:
        tz = maintenance.zone(data.timezone)

        def utc(moment: datetime) -> datetime:
            # A naive time is wall-clock time in the window's zone.
            if moment.tzinfo is None:
                return maintenance.to_utc(moment, tz)
            return moment.astimezone(UTC)

        starts_at = utc(data.starts_at)
        if data.recurrence:
            if data.ends_at is not None:
                raise InvalidWindow("ends_at", "a recurring window lasts duration_minutes")
            if data.duration_minutes is None:
                raise InvalidWindow("duration_minutes", "a recurring window needs a duration")
            rule = maintenance.normalize_rule(data.recurrence)
            maintenance.parse_rule(rule, maintenance.to_local(starts_at, tz))
            return MaintenanceWindow(
                starts_at=starts_at,
                recurrence=rule,
                duration_minutes=data.duration_minutes,
                timezone=data.timezone,
                reason=data.reason,
            )
        if data.ends_at is None and data.duration_minutes is None:
            raise InvalidWindow("ends_at", "give ends_at (or a recurrence and duration_minutes)")
        if data.ends_at is not None:
            ends_at = utc(data.ends_at)
        else:
            ends_at = starts_at + timedelta(minutes=data.duration_minutes or 0)
        if ends_at <= starts_at:
            raise InvalidWindow("ends_at", "must be after starts_at")
        return MaintenanceWindow(
            starts_at=starts_at, ends_at=ends_at, timezone=data.timezone, reason=data.reason
        )
    except InvalidWindow as exc:
        raise _invalid(exc.field, exc.message) from exc


async def create_window(
    ctx: Context, *, monitor: Monitor, data: MaintenanceCreate
) -> MaintenanceRead:
    window = build_window(data)
    count = await ctx.db.scalar(
        select(func.count())
        .select_from(MaintenanceWindow)
        .where(MaintenanceWindow.monitor_id == monitor.id)
    )
    if (count or 0) >= MAX_WINDOWS:
        raise Conflict(f"A monitor has at most {MAX_WINDOWS} maintenance windows")
    window.monitor_id = monitor.id
    window.created_by_id = ctx.auth.user_id
    ctx.db.add(window)
    touched(ctx, monitor)
    await ctx.db.flush()
    when = window.recurrence or f"until {window.ends_at:%Y-%m-%d %H:%M}Z"
    await audit.record(
        ctx,
        action="maintenance.created",
        resource_type="monitor",
        resource_id=monitor.id,
        detail=f"window {window.id} on {monitor.name!r}: {when} ({window.timezone})",
    )
    return window_read(window, datetime.now(UTC))


async def delete_window(ctx: Context, *, monitor: Monitor, window_id: int) -> None:
    window = await ctx.db.scalar(
        select(MaintenanceWindow).where(
            MaintenanceWindow.id == window_id, MaintenanceWindow.monitor_id == monitor.id
        )
    )
    if window is None:
        raise NotFound("Maintenance window not found")
    await ctx.db.delete(window)
    touched(ctx, monitor)
    await ctx.db.flush()
    await audit.record(
        ctx,
        action="maintenance.deleted",
        resource_type="monitor",
        resource_id=monitor.id,
        detail=f"window {window_id} on {monitor.name!r}",
    )
