"""What organizations use of their plan's limits, and what a change of plan would leave over.

Counted the way each limit is enforced where things are created: users are members plus
pending invitations (server/users/invitations.py `count_seats`), the rest rows of the org.
The figures of many organizations come from one grouped query per table, not one per org.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.models import Agent
from server.billing.models import Plan
from server.billing.plans import modules_of
from server.cloud_accounts.models import CloudAccount
from server.db.base import utcnow
from server.monitors.models import Monitor
from server.orgs.models import Membership, Organization
from server.status_pages.models import StatusPage
from server.users.models import Invitation
from shared.api.admin import DowngradePreview, LimitExcess, UsageItem
from shared.api.billing import Limit

# The limits that count rows, in the order they are shown.
COUNTED: dict[Limit, Any] = {
    Limit.users: Membership,
    Limit.monitors: Monitor,
    Limit.cloud_accounts: CloudAccount,
    Limit.agents: Agent,
    Limit.status_pages: StatusPage,
}

Counts = dict[int, dict[Limit, int]]


async def counts_of(db: AsyncSession, org_ids: Sequence[int]) -> Counts:
    """{org id: {limit: rows counted}} for every counted limit."""
    counts: Counts = {org_id: dict.fromkeys(COUNTED, 0) for org_id in org_ids}
    if not org_ids:
        return counts
    for limit, table in COUNTED.items():
        rows = await db.execute(
            select(table.org_id, func.count())
            .where(table.org_id.in_(org_ids))
            .group_by(table.org_id)
        )
        for org_id, count in rows:
            counts[org_id][limit] = count
    # A pending invitation holds a seat (server/users/invitations.py `count_seats`).
    pending = await db.execute(
        select(Invitation.org_id, func.count())
        .where(
            Invitation.org_id.in_(org_ids),
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .group_by(Invitation.org_id)
    )
    for org_id, count in pending:
        counts[org_id][Limit.users] += count
    return counts


def usage_of(counts: dict[Limit, int], plan: Plan) -> list[UsageItem]:
    return [
        UsageItem(limit=limit, current=counts[limit], allowed=plan.limits.get(limit))
        for limit in COUNTED
    ]


async def shortest_interval(db: AsyncSession, org_id: int) -> int | None:
    return await db.scalar(
        select(func.min(Monitor.interval_seconds)).where(Monitor.org_id == org_id)
    )


async def downgrade_preview(
    db: AsyncSession, org: Organization, current: Plan, new: Plan
) -> DowngradePreview:
    """Each limit the organization would be over on `new`, and the modules it would lose.

    A count limit is over when more rows exist than it allows; the minimum check interval
    when a monitor checks more often than it allows (`current` is then the shortest
    interval in use). Modules granted to the organization itself stay with it.
    """
    counts = (await counts_of(db, [org.id]))[org.id]
    exceeded = [
        LimitExcess(limit=limit, current=counts[limit], new_limit=allowed)
        for limit in COUNTED
        if (allowed := new.limits.get(limit)) is not None and counts[limit] > allowed
    ]
    minimum = new.limits.get(Limit.min_check_interval_seconds)
    shortest = await shortest_interval(db, org.id)
    if minimum is not None and shortest is not None and shortest < minimum:
        exceeded.append(
            LimitExcess(limit=Limit.min_check_interval_seconds, current=shortest, new_limit=minimum)
        )
    lost = sorted(set(modules_of(org, current)) - set(modules_of(org, new)))
    return DowngradePreview(
        organization_id=org.id,
        plan=new.code,
        exceeded=exceeded,
        modules_lost=lost,
        ok=not exceeded and not lost,
    )
