"""Plans as platform admins edit them: prices, limits and modules.

Limits and modules are validated against the `Limit` and `Module` enums of
shared/api/billing.py, which every enforcement site reads (server/billing/plans.py). A change
applies to every organization on the plan from its next request; nothing is recomputed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.billing.models import Plan
from server.http.errors import Conflict, NotFound
from server.service_context import Context
from shared.api.admin import PlanCreate, PlanUpdate
from shared.api.billing import PlanRead

RESOURCE = "plan"


def plan_read(plan: Plan) -> PlanRead:
    return PlanRead.model_validate(plan)


async def list_plans(db: AsyncSession) -> list[PlanRead]:
    """Every plan, cheapest first."""
    plans = await db.scalars(select(Plan).order_by(Plan.price_month_cents, Plan.id))
    return [plan_read(plan) for plan in plans]


async def create_plan(ctx: Context, *, data: PlanCreate) -> PlanRead:
    if await ctx.db.scalar(select(Plan.id).where(Plan.code == data.code)) is not None:
        raise Conflict(f"A plan with the code {data.code!r} already exists")
    plan = Plan(
        code=data.code,
        name=data.name,
        price_month_cents=data.price_month_cents,
        price_year_cents=data.price_year_cents,
        currency=data.currency,
        limits={str(limit): value for limit, value in data.limits.items()},
        modules=sorted({str(module) for module in data.modules}),
    )
    ctx.db.add(plan)
    try:
        await ctx.db.flush()
    except IntegrityError as exc:  # created since the check above
        raise Conflict(f"A plan with the code {data.code!r} already exists") from exc
    await audit.record(
        ctx, action="admin.plan.created", resource_type=RESOURCE, resource_id=plan.id,
        detail=f"{plan.code}: {plan.name}",
    )  # fmt: skip
    return plan_read(plan)


async def update_plan(ctx: Context, *, plan_id: int, data: PlanUpdate) -> PlanRead:
    """Change what is given; `limits` changes the limits it names and keeps the others."""
    plan = await ctx.db.get(Plan, plan_id)
    if plan is None:
        raise NotFound("Plan not found")
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "limits" in changes:
        changes["limits"] = {**plan.limits, **{str(k): v for k, v in changes["limits"].items()}}
    if "modules" in changes:
        changes["modules"] = sorted({str(module) for module in changes["modules"]})
    changed = sorted(name for name, value in changes.items() if getattr(plan, name) != value)
    for name in changed:
        setattr(plan, name, changes[name])
    if changed:
        await ctx.db.flush()
        await audit.record(
            ctx, action="admin.plan.updated", resource_type=RESOURCE, resource_id=plan.id,
            detail=f"{plan.code}: {', '.join(changed)}",
        )  # fmt: skip
    return plan_read(plan)
