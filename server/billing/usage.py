"""Usage: what an organization uses against each of its plan's limits."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from server.agents.models import Agent
from server.billing.plans import org_plan
from server.cloud_accounts.models import CloudAccount
from server.monitors.models import Monitor
from server.status_pages.models import StatusPage
from server.users import invitations
from shared.api.billing import Limit, PlanRead, UsageLine, UsageRead

_COUNTED: dict[Limit, InstrumentedAttribute[int]] = {
    Limit.monitors: Monitor.org_id,
    Limit.cloud_accounts: CloudAccount.org_id,
    Limit.agents: Agent.org_id,
    Limit.status_pages: StatusPage.org_id,
}


async def usage(db: AsyncSession, org_id: int) -> UsageRead:
    """One line per limit, in the order of `Limit`: seats count members and pending
    invitations, as the users limit is checked; the check interval shows the shortest of
    the organization's monitors; history days are a span, not a count (null)."""
    _, plan = await org_plan(db, org_id)
    used: dict[Limit, int | None] = {
        Limit.users: await invitations.count_seats(db, org_id),
        Limit.history_days: None,
    }
    for limit, org_column in _COUNTED.items():
        query = select(func.count()).where(org_column == org_id)
        used[limit] = int((await db.execute(query)).scalar_one())
    used[Limit.min_check_interval_seconds] = await db.scalar(
        select(func.min(Monitor.interval_seconds)).where(Monitor.org_id == org_id)
    )
    return UsageRead(
        plan=PlanRead.model_validate(plan),
        items=[
            UsageLine(limit=limit, used=used[limit], allowed=plan.limits.get(limit))
            for limit in Limit
        ],
    )
