"""The public page: which page a visitor asked for, whether they may read it, and what
they see (`PublicStatusPage`: the JSON, and what the HTML, feeds and badges render).

A page that does not exist, is disabled, or whose organization lacks the status_pages
module is a 404, the same answer for each. A page of a suspended organization that would
otherwise be shown is a 403 that says so. A page that requires a token is a 401 without the
right one (compared in constant time on its hash).
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.tokens import hash_secret
from server.billing.models import Plan
from server.billing.plans import modules_of
from server.db.base import utcnow
from server.http.errors import Forbidden, NotFound, Unauthorized
from server.incidents.models import Incident
from server.monitors import maintenance, uptime
from server.monitors.models import MaintenanceWindow, Monitor, MonitorRollup
from server.orgs.models import Organization
from server.service_context import Context
from server.status_pages import announcements
from server.status_pages.models import Announcement, StatusPage, StatusPageMonitor
from shared.api.status_pages import (
    GLOBAL_PAGE,
    AnnouncementRead,
    Branding,
    PublicDay,
    PublicIncident,
    PublicMaintenance,
    PublicMonitor,
    PublicStatus,
    PublicStatusPage,
)

MODULE = "status_pages"
NOT_FOUND = "Status page not found"
SUSPENDED = "This status page is suspended"
NEEDS_TOKEN = "This status page needs its token: open the link you were given, with ?token="
MAINTENANCE_DAYS = 30
MAX_INCIDENTS = 50
MAX_ANNOUNCEMENTS = 20
PUBLIC_STATUS = {
    "up": PublicStatus.operational,
    "degraded": PublicStatus.degraded,
    "down": PublicStatus.down,
    "maintenance": PublicStatus.maintenance,
}
# The page's overall status: the first of these that a monitor has.
WORST_FIRST = (PublicStatus.down, PublicStatus.degraded, PublicStatus.maintenance)


@dataclass(frozen=True)
class Found:
    org: Organization
    page: StatusPage
    whitelabel: bool

    @property
    def has_logo(self) -> bool:
        return self.org.logo_content_type is not None


async def find_page(
    db: AsyncSession, *, org_slug: str, client_slug: str | None, token: str | None
) -> Found:
    """The enabled page asked for, when the visitor may read it (the module's rules)."""
    row = (
        await db.execute(
            select(Organization, Plan, StatusPage)
            .join(Plan, Plan.id == Organization.plan_id)
            .join(StatusPage, StatusPage.org_id == Organization.id)
            .where(
                Organization.slug == org_slug,
                StatusPage.slug == (client_slug or GLOBAL_PAGE),
                StatusPage.kind == ("client" if client_slug else "global"),
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFound(NOT_FOUND)
    org, plan, page = row
    modules = modules_of(org, plan)
    if org.status != "active" and MODULE in modules and page.enabled:
        # A page that would be shown says why it is not, rather than seeming gone.
        raise Forbidden(SUSPENDED)
    if MODULE not in modules or not page.enabled:
        raise NotFound(NOT_FOUND)
    if page.require_token and not token_matches(page, token):
        raise Unauthorized(NEEDS_TOKEN)
    return Found(org, page, "whitelabel" in modules)


def token_matches(page: StatusPage, token: str | None) -> bool:
    if not token or page.token_hash is None:
        return False
    return hmac.compare_digest(hash_secret(token), page.token_hash)


def public_status(monitor: Monitor) -> PublicStatus:
    if monitor.paused:
        return PublicStatus.unknown
    return PUBLIC_STATUS.get(monitor.status, PublicStatus.unknown)


def overall(statuses: list[PublicStatus]) -> PublicStatus:
    for status in WORST_FIRST:
        if status in statuses:
            return status
    if PublicStatus.operational in statuses:
        return PublicStatus.operational
    return PublicStatus.unknown


async def build(ctx: Context, found: Found, *, now: datetime) -> PublicStatusPage:
    db, page, org = ctx.db, found.page, found.org
    monitors = list(
        await db.scalars(
            select(Monitor)
            .join(StatusPageMonitor, StatusPageMonitor.monitor_id == Monitor.id)
            .where(StatusPageMonitor.page_id == page.id, Monitor.org_id == org.id)
            .order_by(StatusPageMonitor.position)
        )
    )
    ids = [monitor.id for monitor in monitors]
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=page.history_days - 1)
    since = datetime.combine(first_day, time(), tzinfo=UTC)
    incidents = await _incidents(db, ids, since)
    history = await _days(db, monitors, first_day, today, incidents) if page.show_uptime else {}
    latency = await _latency(db, ids, now) if page.show_response_times else {}
    public_monitors = []
    for monitor in monitors:
        days, totals = history.get(monitor.id, ([], None))
        public_monitors.append(
            PublicMonitor(
                id=monitor.id,
                name=monitor.name,
                status=public_status(monitor),
                uptime_pct=totals.uptime_pct if totals else None,
                avg_response_ms=latency.get(monitor.id),
                days=days,
            )
        )
    names = {monitor.id: monitor.name for monitor in monitors}
    return PublicStatusPage(
        org_slug=org.slug,
        slug=page.slug if page.kind == "client" else None,
        title=page.title,
        company_name=page.company_name,
        branding=_branding(org, page, found.whitelabel),
        status=overall([each.status for each in public_monitors]),
        history_days=page.history_days,
        show_uptime=page.show_uptime,
        show_response_times=page.show_response_times,
        monitors=public_monitors,
        incidents=[_incident(incident, names) for incident in incidents[:MAX_INCIDENTS]],
        announcements=await _announcements(ctx, page, since),
        maintenance=await _maintenance(db, ids, names, now),
        generated_at=now,
    )


def _branding(org: Organization, page: StatusPage, whitelabel: bool) -> Branding:
    if not whitelabel:
        return Branding(name="Upmetr", logo_url=None, primary_color=None, accent_color=None,
                        whitelabel=False)  # fmt: skip
    return Branding(
        name=org.brand_name or page.company_name or org.name,
        logo_url=page.logo_url,
        primary_color=org.brand_primary_color,
        accent_color=org.brand_accent_color,
        whitelabel=True,
    )


async def _incidents(db: AsyncSession, ids: list[int], since: datetime) -> list[Incident]:
    """The monitors' incidents opened since `since` or still unresolved, newest first."""
    if not ids:
        return []
    return list(
        await db.scalars(
            select(Incident)
            .where(
                Incident.target_type == "monitor",
                Incident.target_id.in_(ids),
                (Incident.opened_at >= since) | (Incident.resolved_at.is_(None)),
            )
            .order_by(Incident.opened_at.desc(), Incident.id.desc())
        )
    )


def _incident(incident: Incident, names: dict[int, str]) -> PublicIncident:
    monitor_id = incident.target_id
    return PublicIncident(
        id=incident.id, title=incident.title, monitor_id=monitor_id,
        monitor_name=names.get(monitor_id) if monitor_id is not None else None,
        status=incident.status, severity=incident.severity,
        opened_at=incident.opened_at, resolved_at=incident.resolved_at,
    )  # fmt: skip


async def _days(
    db: AsyncSession,
    monitors: list[Monitor],
    first_day: date,
    today: date,
    incidents: list[Incident],
) -> dict[int, tuple[list[PublicDay], uptime.Totals]]:
    """Each monitor's days, oldest first, and their totals, from its day rollups (one query
    for all)."""
    ids = [monitor.id for monitor in monitors]
    if not ids:
        return {}
    since = datetime.combine(first_day, time(), tzinfo=UTC)
    # Columns, not ORM objects: 50 monitors x 90 days made 4,500 of them, most of a render.
    counts = (
        MonitorRollup.up, MonitorRollup.down, MonitorRollup.degraded,
        MonitorRollup.maintenance, MonitorRollup.unknown,
    )  # fmt: skip
    found = await db.execute(
        select(MonitorRollup.monitor_id, MonitorRollup.bucket_start, *counts).where(
            MonitorRollup.monitor_id.in_(ids),
            MonitorRollup.period == "day",
            MonitorRollup.bucket_start >= since,
        )
    )
    rows = {
        (monitor_id, start.astimezone(UTC).date()): uptime.Totals(*figures)
        for monitor_id, start, *figures in found
    }
    opened: dict[tuple[int, date], int] = defaultdict(int)
    for incident in incidents:
        if incident.target_id is not None:
            opened[(incident.target_id, incident.opened_at.astimezone(UTC).date())] += 1
    span = (today - first_day).days + 1
    none = uptime.Totals()
    result: dict[int, tuple[list[PublicDay], uptime.Totals]] = {}
    for monitor in monitors:
        days = []
        kept = []
        for offset in range(span):
            day = first_day + timedelta(days=offset)
            totals = rows.get((monitor.id, day), none)
            if totals is not none:
                kept.append(totals)
            days.append(
                PublicDay(
                    date=day,
                    uptime_pct=totals.uptime_pct,
                    downtime_seconds=uptime.downtime_seconds(totals, monitor.interval_seconds),
                    checks=totals.counted,
                    incidents=opened.get((monitor.id, day), 0),
                )
            )
        result[monitor.id] = (days, _sum(kept))
    return result


def _sum(days: list[uptime.Totals]) -> uptime.Totals:
    return uptime.Totals(
        up=sum(day.up for day in days), down=sum(day.down for day in days),
        degraded=sum(day.degraded for day in days),
    )  # fmt: skip


async def _latency(db: AsyncSession, ids: list[int], now: datetime) -> dict[int, float]:
    """Average response time over the last 24 hours, from hourly rollups."""
    if not ids:
        return {}
    since = uptime.window_start(now, timedelta(hours=24), "hour")
    rows = await db.execute(
        select(
            MonitorRollup.monitor_id,
            func.sum(MonitorRollup.sum_ms),
            func.sum(MonitorRollup.measured),
        )
        .where(
            MonitorRollup.monitor_id.in_(ids),
            MonitorRollup.period == "hour",
            MonitorRollup.bucket_start > since,
        )
        .group_by(MonitorRollup.monitor_id)
    )
    return {
        monitor_id: round(total / measured, 1) for monitor_id, total, measured in rows if measured
    }


async def _announcements(ctx: Context, page: StatusPage, since: datetime) -> list[AnnouncementRead]:
    """Unresolved ones, and those resolved within the history, newest first."""
    statement = (
        select(Announcement, StatusPage)
        .join(StatusPage, StatusPage.id == Announcement.page_id)
        .where(
            Announcement.page_id == page.id,
            (Announcement.resolved_at.is_(None)) | (Announcement.resolved_at >= since),
        )
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .limit(MAX_ANNOUNCEMENTS)
    )
    rows = [(each, page) for each, page in await ctx.db.execute(statement)]
    return await announcements.reads_of(ctx, rows)


async def _maintenance(
    db: AsyncSession, ids: list[int], names: dict[int, str], now: datetime
) -> list[PublicMaintenance]:
    """Planned windows running now or starting within 30 days, recurring ones expanded."""
    if not ids:
        return []
    until = now + timedelta(days=MAINTENANCE_DAYS)
    found = []
    for window in await db.scalars(
        select(MaintenanceWindow).where(MaintenanceWindow.monitor_id.in_(ids))
    ):
        for occurrence in maintenance.occurrences_from(window, now):
            if occurrence.starts_at >= until:
                break
            found.append(
                PublicMaintenance(
                    uid=f"maintenance-{window.id}-{int(occurrence.starts_at.timestamp())}",
                    monitor_id=window.monitor_id,
                    monitor_name=names[window.monitor_id],
                    reason=window.reason,
                    starts_at=occurrence.starts_at,
                    ends_at=occurrence.ends_at,
                )
            )
    return sorted(found, key=lambda each: (each.starts_at, each.uid))


async def badge_facts(
    ctx: Context, found: Found, *, monitor_id: int, days: int
) -> tuple[str, str, float | None, float | None] | None:
    """A monitor of the page as its badges show it: name, public status, uptime over `days`
    and the last 24 hours' average response time; None when the page does not show it."""
    monitor = await ctx.db.scalar(
        select(Monitor)
        .join(StatusPageMonitor, StatusPageMonitor.monitor_id == Monitor.id)
        .where(StatusPageMonitor.page_id == found.page.id, Monitor.id == monitor_id)
    )
    if monitor is None:
        return None
    now = utcnow()
    since = datetime.combine(now.date() - timedelta(days=days - 1), time(), tzinfo=UTC)
    rows = await ctx.db.scalars(
        select(MonitorRollup).where(
            MonitorRollup.monitor_id == monitor.id,
            MonitorRollup.period == "day",
            MonitorRollup.bucket_start >= since,
        )
    )
    latency = await _latency(ctx.db, [monitor.id], now)
    status = public_status(monitor).value
    return monitor.name, status, uptime.total(rows).uptime_pct, latency.get(monitor.id)


async def logo_of(db: AsyncSession, *, org_slug: str) -> tuple[bytes | None, str]:
    """The uploaded logo of an organization whose plan has the whitelabel module."""
    row = (
        await db.execute(
            select(Organization.logo, Organization.logo_content_type, Organization.extra_modules,
                   Plan.modules)
            .join(Plan, Plan.id == Organization.plan_id)
            .where(Organization.slug == org_slug, Organization.status == "active")
        )
    ).one_or_none()  # fmt: skip
    if row is None or "whitelabel" not in {*row.modules, *(row.extra_modules or [])}:
        return None, ""
    return row.logo, row.logo_content_type or "application/octet-stream"
