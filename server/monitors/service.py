"""Monitors: create, change, pause and delete them, and read them with their state.

The type of a monitor is fixed at creation; what it needs (a URL, a host and port...) is
checked on the merged configuration on create and on every update, so a PATCH can never
leave a monitor the check engine cannot run. A new or resumed monitor is due at once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Row, Select, String, bindparam, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from server.audit import service as audit
from server.billing.plans import check_limit, check_minimum, org_plan
from server.db.text_match import containing
from server.http.errors import BadRequest, Conflict, NotFound
from server.monitors import maintenance, queries, windows
from server.monitors.changes import touched
from server.monitors.models import Monitor
from server.monitors.targets import check_targets
from server.orgs import service as orgs
from server.providers.outbound import TargetPolicy
from server.service_context import Context
from shared.api.billing import Limit
from shared.api.common import API_PREFIX
from shared.api.events import MonitorCreated, MonitorDeleted, MonitorStatusChanged
from shared.api.monitors import (
    HeartbeatAck,
    MonitorCreate,
    MonitorQuery,
    MonitorRead,
    MonitorStatus,
    MonitorSummary,
    MonitorType,
    MonitorUpdate,
)

HEARTBEAT_PATH = f"{API_PREFIX}/heartbeat/"
_HOST = re.compile(r"^[A-Za-z0-9._\-:\[\]%]+$")
_URL_TYPES = {MonitorType.http, MonitorType.keyword, MonitorType.json}
# Columns a PATCH may not set to null (null clears only optional settings).
_NOT_NULL = {
    "name", "method", "expected_status", "follow_redirects", "interval_seconds",
    "timeout_seconds", "failure_threshold", "recovery_threshold", "ssl_expiry_days",
    "heartbeat_grace_seconds", "paused", "keyword_present",
}  # fmt: skip
_EMPTY_WHEN_NULL: dict[str, Any] = {"headers": [], "tags": []}
_SORT_COLUMNS = {"name": Monitor.name, "created_at": Monitor.created_at, "status": Monitor.status}


def _now() -> datetime:
    return datetime.now(UTC)


def _invalid(field: str, message: str) -> BadRequest:
    return BadRequest(f"body field '{field}': {message}")


def check_config(values: dict[str, Any]) -> None:
    """400 naming the field a monitor of its type lacks or gets wrong."""
    kind = MonitorType(values["type"])
    if kind in _URL_TYPES:
        url = values.get("url")
        if not url:
            raise _invalid("url", f"a {kind.value} monitor needs a URL")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _invalid("url", "must be an http:// or https:// URL with a host")
        if any(ch.isspace() for ch in url):
            raise _invalid("url", "cannot hold spaces")
    if kind is MonitorType.keyword and not values.get("keyword"):
        raise _invalid("keyword", "a keyword monitor needs the keyword to look for")
    if kind is MonitorType.json:
        if not values.get("json_path"):
            raise _invalid("json_path", "a json monitor needs a JSON path (e.g. $.status)")
        if values.get("expected_value") is None:
            raise _invalid("expected_value", "a json monitor needs the value to expect")
    if kind in (MonitorType.tcp, MonitorType.dns):
        host = values.get("host")
        if not host:
            raise _invalid("host", f"a {kind.value} monitor needs a host")
        if not _HOST.match(host):
            raise _invalid("host", "must be a host name or an IP address")
    if kind is MonitorType.tcp and not values.get("port"):
        raise _invalid("port", "a tcp monitor needs a port")
    if kind is MonitorType.dns and not values.get("dns_record_type"):
        raise _invalid("dns_record_type", "a dns monitor needs a record type")
    resolver = values.get("dns_resolver")
    if resolver and not _HOST.match(resolver):
        raise _invalid("dns_resolver", "must be a host name or an IP address")
    if values["timeout_seconds"] > values["interval_seconds"]:
        raise _invalid("timeout_seconds", "cannot be longer than interval_seconds")


def heartbeat_url(public_url: str, token: str | None) -> str | None:
    return f"{public_url}{HEARTBEAT_PATH}{token}" if token else None


def effective_status(paused: bool, status: str, in_maintenance: bool) -> MonitorStatus:
    """Paused and maintenance win over what the last check found."""
    if paused:
        return MonitorStatus.paused
    if in_maintenance:
        return MonitorStatus.maintenance
    return _STATUSES[status]


# The enum's members by value: a lookup, where calling the enum cost a microsecond a row.
_STATUSES: dict[str, MonitorStatus] = {status.value: status for status in MonitorStatus}


async def _reads(
    db: AsyncSession, monitors: list[Monitor], *, public_url: str
) -> list[MonitorRead]:
    """Monitors with their uptime (from rollups) and status; a few queries for any count."""
    now = _now()
    ids = [monitor.id for monitor in monitors]
    uptimes = await queries.uptimes(db, ids, now=now)
    by_monitor = await windows.windows_of(db, ids)
    reads = []
    for monitor in monitors:
        active = maintenance.active_window(by_monitor.get(monitor.id, []), now) is not None
        read = MonitorRead.model_validate(monitor).model_copy(
            update={
                "status": effective_status(monitor.paused, monitor.status, active),
                "heartbeat_url": heartbeat_url(public_url, monitor.heartbeat_token),
                **uptimes.get(monitor.id, {}),
            }
        )
        reads.append(read)
    return reads


async def summary(db: AsyncSession, *, org_id: int) -> MonitorSummary:
    """Counts by the status shown, as `list_monitors` filters it: paused first, then
    maintenance, then the last verdict. Two grouped counts instead of a request per status."""
    under = await windows.monitors_in_maintenance(db, org_id=org_id, now=_now())
    counts = dict.fromkeys(MonitorStatus, 0)
    grouped = await db.execute(
        select(Monitor.paused, Monitor.status, func.count())
        .where(Monitor.org_id == org_id, Monitor.id.not_in(under))
        .group_by(Monitor.paused, Monitor.status)
    )
    for paused, status, count in grouped.all():
        counts[MonitorStatus.paused if paused else MonitorStatus(status)] += count
    if under:
        in_window = await db.execute(
            select(Monitor.paused, func.count())
            .where(Monitor.org_id == org_id, Monitor.id.in_(under))
            .group_by(Monitor.paused)
        )
        for paused, count in in_window.all():
            counts[MonitorStatus.paused if paused else MonitorStatus.maintenance] += count
    return MonitorSummary(total=sum(counts.values()), by_status=counts)


async def list_monitors(
    db: AsyncSession, *, org_id: int, query: MonitorQuery, public_url: str
) -> dict[str, Any]:
    """A page of monitors as a `Page[MonitorRead]` of JSON-ready values: the columns typed
    them as they were read, so they are written out without a validation pass (about a
    tenth of the request; `Trusted` in server/http/routing.py)."""
    now = _now()
    params: dict[str, Any] = {"org_id": org_id}
    status = query.status.value if query.status is not None else None
    if query.type is not None:
        params["type"] = query.type.value
    if query.status is not None and query.status is not MonitorStatus.paused:
        # The status filtered on is the one shown: maintenance wins over the last check.
        params["under"] = list(await windows.monitors_in_maintenance(db, org_id=org_id, now=now))
        params["status"] = status
    if query.tag:
        params["tag"] = containing(f'"{query.tag}"')
    if query.q:
        params["q"] = containing(query.q)
    shape = _ListShape(
        by_type=query.type is not None,
        status=status if status in (None, "paused", "maintenance") else "checked",
        by_tag=bool(query.tag),
        by_text=bool(query.q),
        sort=query.sort,
    )
    page = await queries.monitor_page(db, _list_statement(shape), params, query=query, now=now)
    fields = page.rows[0]._fields if page.rows else ()  # Row._asdict works them out per row
    items = [_row_values(row, fields, page, now=now, public_url=public_url) for row in page.rows]
    return {"items": items, "total": page.total, "page": query.page, "per_page": query.per_page}


@dataclass(frozen=True)
class _ListShape:
    """Which filters and order a list asks for; their values are the statement's parameters."""

    by_type: bool
    status: str | None  # None, "paused", "maintenance" or "checked" (up, down, ...)
    by_tag: bool
    by_text: bool
    sort: str


@cache
def _list_statement(shape: _ListShape) -> Select[Any]:
    """The list's statement, built once per shape with bound parameters: building and
    keying it anew for each request cost about a tenth of the request."""
    filters: list[ColumnElement[bool]] = [Monitor.org_id == bindparam("org_id")]
    if shape.by_type:
        filters.append(Monitor.type == bindparam("type"))
    if shape.status == "paused":
        filters.append(Monitor.paused.is_(True))
    elif shape.status is not None:
        under = Monitor.id.in_(bindparam("under", expanding=True))
        filters.append(Monitor.paused.is_(False))
        if shape.status == "maintenance":
            filters.append(under)
        else:
            filters += [Monitor.status == bindparam("status"), ~under]
    if shape.by_tag:
        # Tags are a JSON list; its text holds each tag quoted.
        filters.append(cast(Monitor.tags, String).like(bindparam("tag"), escape="\\"))
    if shape.by_text:
        pattern: BindParameter[str] = bindparam("q")
        filters.append(
            or_(
                func.lower(Monitor.name).like(pattern, escape="\\"),
                func.lower(Monitor.url).like(pattern, escape="\\"),
                func.lower(Monitor.host).like(pattern, escape="\\"),
            )
        )
    column = _SORT_COLUMNS[shape.sort.lstrip("-")]
    order = column.desc() if shape.sort.startswith("-") else column.asc()
    return queries.monitor_page_statement(filters, [order, Monitor.id])


def _row_values(
    row: Row[*tuple[Any, ...]],
    fields: tuple[str, ...],
    page: queries.MonitorRows,
    *,
    now: datetime,
    public_url: str,
) -> dict[str, Any]:
    """What `_reads` makes of an ORM monitor, made of a table row of the list: the fields
    of MonitorRead, no others."""
    values = dict(zip(fields, row, strict=True))
    del values["total"], values["has_windows"]
    monitor_id = values["id"]
    windows = page.windows.get(monitor_id)  # only monitors that have some were read
    active = windows is not None and maintenance.active_window(windows, now) is not None
    values["status"] = effective_status(values["paused"], values["status"], active)
    values["heartbeat_url"] = heartbeat_url(public_url, values.pop("heartbeat_token"))
    values.update(page.uptimes[monitor_id])
    return values


async def monitor_of(db: AsyncSession, *, org_id: int, monitor_id: int) -> Monitor:
    """The monitor `monitor_id` of `org_id`; another org's monitor is a 404."""
    monitor = await db.scalar(
        select(Monitor).where(Monitor.id == monitor_id, Monitor.org_id == org_id)
    )
    if monitor is None:
        raise NotFound("Monitor not found")
    return monitor


async def get_monitor(
    db: AsyncSession, *, org_id: int, monitor_id: int, public_url: str
) -> MonitorRead:
    monitor = await monitor_of(db, org_id=org_id, monitor_id=monitor_id)
    (read,) = await _reads(db, [monitor], public_url=public_url)
    return read


async def _read_one(ctx: Context, monitor: Monitor) -> MonitorRead:
    (read,) = await _reads(ctx.db, [monitor], public_url=ctx.settings.resolved_public_url)
    return read


async def default_interval(db: AsyncSession, org_id: int) -> int:
    """The organization's default check interval, raised to its plan's minimum, so a
    monitor created without an interval is never refused for the interval it did not ask."""
    org, plan = await org_plan(db, org_id)
    default = orgs.settings_of(org).default_check_interval_seconds
    minimum = plan.limits.get(Limit.min_check_interval_seconds) or 0
    return max(default, minimum)


async def create_monitor(ctx: Context, *, data: MonitorCreate) -> MonitorRead:
    db, org_id = ctx.db, ctx.auth.org_id
    values = data.model_dump(mode="json")
    if values["interval_seconds"] is None:
        values["interval_seconds"] = await default_interval(db, org_id)
    check_config(values)
    check_targets(values, TargetPolicy.from_settings(ctx.settings))
    count_query = select(func.count()).select_from(Monitor).where(Monitor.org_id == org_id)
    count = await db.scalar(count_query) or 0
    await check_limit(db, org_id, Limit.monitors, current=count)
    await check_minimum(
        db, org_id, Limit.min_check_interval_seconds, value=values["interval_seconds"]
    )
    # Unset optional settings take the column defaults ([] headers and tags...).
    monitor = Monitor(org_id=org_id, **{k: v for k, v in values.items() if v is not None})
    monitor.status = MonitorStatus.paused.value if data.paused else MonitorStatus.pending.value
    monitor.next_check_at = None if data.paused else _now()  # a new monitor is checked at once
    if data.type is MonitorType.heartbeat:
        monitor.heartbeat_token = "hb_" + secrets.token_urlsafe(24)
    db.add(monitor)
    touched(ctx, monitor)
    try:
        await db.flush()
    except IntegrityError as exc:  # pragma: no cover - a 192-bit token collision
        raise Conflict("Could not create the monitor; try again") from exc
    await audit.record(
        ctx,
        action="monitor.created",
        resource_type="monitor",
        resource_id=monitor.id,
        detail=f"{monitor.type} monitor {monitor.name!r}",
    )
    ctx.publish_after_commit(
        MonitorCreated(monitor_id=monitor.id, name=monitor.name, status=monitor.status)
    )
    return await _read_one(ctx, monitor)


async def update_monitor(ctx: Context, *, monitor_id: int, data: MonitorUpdate) -> MonitorRead:
    db, org_id = ctx.db, ctx.auth.org_id
    monitor = await monitor_of(db, org_id=org_id, monitor_id=monitor_id)
    changes = data.model_dump(mode="json", exclude_unset=True)
    for name, value in list(changes.items()):
        if value is None:
            if name in _NOT_NULL:
                raise _invalid(name, "cannot be null")
            changes[name] = _EMPTY_WHEN_NULL.get(name)
    current = {column: getattr(monitor, column) for column in MonitorCreate.model_fields}
    check_config({**current, **changes})
    policy = TargetPolicy.from_settings(ctx.settings)
    check_targets({**current, **changes}, policy, changed=set(changes))
    interval = changes.get("interval_seconds")
    if interval is not None and interval != monitor.interval_seconds:
        await check_minimum(db, org_id, Limit.min_check_interval_seconds, value=interval)
    changed = sorted(name for name, value in changes.items() if getattr(monitor, name) != value)
    pause_change = changes.get("paused") if "paused" in changed else None
    for name in changed:
        setattr(monitor, name, changes[name])
    if pause_change is not None:
        _set_paused(ctx, monitor, pause_change)
    if changed:
        touched(ctx, monitor)
        await db.flush()
        await audit.record(
            ctx,
            action="monitor.updated",
            resource_type="monitor",
            resource_id=monitor.id,
            detail=f"{monitor.name!r}: {', '.join(changed)}",
        )
    return await _read_one(ctx, monitor)


async def delete_monitor(ctx: Context, *, monitor_id: int) -> None:
    """Deletes the monitor; its results, rollups and windows go with it (ON DELETE CASCADE)."""
    monitor = await monitor_of(ctx.db, org_id=ctx.auth.org_id, monitor_id=monitor_id)
    await ctx.db.delete(monitor)
    await ctx.db.flush()
    await audit.record(
        ctx,
        action="monitor.deleted",
        resource_type="monitor",
        resource_id=monitor_id,
        detail=f"{monitor.type} monitor {monitor.name!r}",
    )
    ctx.publish_after_commit(
        MonitorDeleted(monitor_id=monitor.id, name=monitor.name, status=monitor.status)
    )


def _set_paused(ctx: Context, monitor: Monitor, paused: bool) -> None:
    previous = monitor.status
    monitor.paused = paused
    monitor.status = MonitorStatus.paused.value if paused else MonitorStatus.pending.value
    monitor.consecutive_failures = 0
    monitor.consecutive_successes = 0
    monitor.next_check_at = None if paused else _now()  # resumed: checked at once
    touched(ctx, monitor)
    ctx.publish_after_commit(
        MonitorStatusChanged(
            monitor_id=monitor.id,
            name=monitor.name,
            status=monitor.status,
            previous_status=previous,
        )
    )


async def set_paused(ctx: Context, *, monitor_id: int, paused: bool) -> MonitorRead:
    """Pause or resume; doing it twice changes nothing and records nothing the second time."""
    monitor = await monitor_of(ctx.db, org_id=ctx.auth.org_id, monitor_id=monitor_id)
    if monitor.paused != paused:
        _set_paused(ctx, monitor, paused)
        await ctx.db.flush()
        await audit.record(
            ctx,
            action="monitor.paused" if paused else "monitor.resumed",
            resource_type="monitor",
            resource_id=monitor.id,
            detail=repr(monitor.name),
        )
    return await _read_one(ctx, monitor)


async def record_ping(db: AsyncSession, *, token: str, failed: bool) -> HeartbeatAck:
    """A heartbeat ping (public): stamps last_ping_at; the engine judges it on its next run.

    A paused monitor still acknowledges pings, so a cron job does not fail while paused.
    """
    monitor = None
    if token.startswith("hb_") and len(token) <= 64:
        monitor = await db.scalar(
            select(Monitor).where(
                Monitor.heartbeat_token == token, Monitor.type == MonitorType.heartbeat.value
            )
        )
    if monitor is None:
        raise NotFound("Unknown heartbeat token")
    now = _now()
    monitor.last_ping_at = now
    monitor.last_ping_failed = failed
    await db.flush()
    return HeartbeatAck(ok=True, status="fail" if failed else "success", received_at=now)
