"""The one helper every feature uses to enforce a plan limit or module.

Plans live in the `plan` table (seeded by migrations 0002 and 0009, edited by platform admins).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.models import Plan
from server.http.errors import Forbidden
from server.orgs.models import Organization
from shared.api.billing import Limit, Module

# The plan of an install run by its owner (seeded by migration 0009): every module, no
# limits, and not for sale.
SELF_HOSTED = "self_hosted"


async def org_plan(db: AsyncSession, org_id: int) -> tuple[Organization, Plan]:
    row = (
        await db.execute(
            select(Organization, Plan)
            .join(Plan, Plan.id == Organization.plan_id)
            .where(Organization.id == org_id)
        )
    ).one()
    return row[0], row[1]


def modules_of(org: Organization, plan: Plan) -> list[str]:
    return sorted(set(plan.modules) | set(org.extra_modules or []))


async def require_module(db: AsyncSession, org_id: int, module: Module | str) -> None:
    """403 naming the module when the organization's plan lacks it."""
    org, plan = await org_plan(db, org_id)
    if str(module) not in modules_of(org, plan):
        raise Forbidden(
            f"The '{module}' module is not included in the {plan.name} plan; upgrade to use it"
        )


async def check_limit(db: AsyncSession, org_id: int, limit: Limit, *, current: int) -> None:
    """403 naming the limit when adding one more would exceed the plan's count."""
    _, plan = await org_plan(db, org_id)
    allowed = plan.limits.get(limit)
    if allowed is not None and current + 1 > allowed:
        raise Forbidden(
            f"Plan limit reached: the {plan.name} plan allows {allowed} {limit.replace('_', ' ')}"
        )


async def check_minimum(db: AsyncSession, org_id: int, limit: Limit, *, value: int) -> None:
    """403 naming the limit when a value is below the plan's minimum (check interval)."""
    _, plan = await org_plan(db, org_id)
    minimum = plan.limits.get(limit)
    if minimum is not None and value < minimum:
        raise Forbidden(
            f"Plan limit: the {plan.name} plan's {limit.replace('_', ' ')} is {minimum}"
        )
