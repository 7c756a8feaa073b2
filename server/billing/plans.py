"""The seeded plans and the one helper every feature uses to enforce a limit or a module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.models import Plan
from server.http.errors import Forbidden
from server.orgs.models import Organization
from shared.api.billing import Limit, Module

UNLIMITED = None

# Seeded by the initial migration; platform admins may edit them later (/admin/plans).
DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "code": "free",
        "name": "Free",
        "price_month_cents": 0,
        "price_year_cents": 0,
        "limits": {
            Limit.users: 3,
            Limit.monitors: 10,
            Limit.cloud_accounts: 1,
            Limit.agents: 3,
            Limit.status_pages: 1,
            Limit.min_check_interval_seconds: 300,
            Limit.history_days: 30,
        },
        "modules": [],
    },
    {
        "code": "pro",
        "name": "Pro",
        "price_month_cents": 4900,
        "price_year_cents": 49000,
        "limits": {
            Limit.users: 10,
            Limit.monitors: 100,
            Limit.cloud_accounts: 10,
            Limit.agents: 50,
            Limit.status_pages: 10,
            Limit.min_check_interval_seconds: 60,
            Limit.history_days: 365,
        },
        "modules": [Module.status_pages, Module.audit_logs],
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "price_month_cents": 29900,
        "price_year_cents": 299000,
        "limits": {
            Limit.users: UNLIMITED,
            Limit.monitors: UNLIMITED,
            Limit.cloud_accounts: UNLIMITED,
            Limit.agents: UNLIMITED,
            Limit.status_pages: UNLIMITED,
            Limit.min_check_interval_seconds: 10,
            Limit.history_days: UNLIMITED,
        },
        "modules": [Module.status_pages, Module.audit_logs, Module.whitelabel],
    },
]


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
