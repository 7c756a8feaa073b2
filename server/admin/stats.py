"""The platform's figures for its admins: one count per question, no scan of raw results.

Checks per minute come from the per-minute rollups of the last complete minutes (raw results
are bounded per monitor and say nothing of the rate); queue depths are the work waiting now.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.jobs.models import Job
from server.monitors.models import Monitor, MonitorRollup
from server.notifications.models import NotificationDelivery
from server.orgs.models import Organization
from server.users.models import User
from shared.api.admin import AdminStats

RATE_MINUTES = 5  # complete minutes the check rate is averaged over
ACTIVE = "active"


async def _count(db: AsyncSession, statement: Any) -> int:
    return int(await db.scalar(statement) or 0)


async def platform_stats(db: AsyncSession) -> AdminStats:
    now = utcnow()
    minute = now.replace(second=0, microsecond=0)  # the current minute is still filling
    checked = MonitorRollup.up + MonitorRollup.down + MonitorRollup.degraded
    checked = checked + MonitorRollup.maintenance + MonitorRollup.unknown
    checks = await _count(
        db,
        select(func.sum(checked)).where(
            MonitorRollup.period == "minute",
            MonitorRollup.bucket_start >= minute - timedelta(minutes=RATE_MINUTES),
            MonitorRollup.bucket_start < minute,
        ),
    )
    running = (
        select(func.count())
        .select_from(Monitor)
        .join(Organization, Organization.id == Monitor.org_id)
        .where(Organization.status == ACTIVE, Monitor.paused.is_(False))
    )
    return AdminStats(
        organizations=await _count(db, select(func.count()).select_from(Organization)),
        organizations_suspended=await _count(
            db, select(func.count()).where(Organization.status != ACTIVE)
        ),
        users=await _count(db, select(func.count()).select_from(User)),
        monitors=await _count(db, select(func.count()).select_from(Monitor)),
        monitors_active=await _count(db, running),
        checks_per_minute=round(checks / RATE_MINUTES, 2),
        due_monitors=await _count(db, running.where(Monitor.next_check_at <= now)),
        pending_jobs=await _count(
            db, select(func.count()).where(Job.status.in_(("queued", "running")))
        ),
        pending_deliveries=await _count(
            db, select(func.count()).where(NotificationDelivery.status == "pending")
        ),
    )
