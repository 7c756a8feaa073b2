"""HTTP handlers of /billing: parse -> query -> serialize."""

from __future__ import annotations

from sqlalchemy import select

from server.billing.models import Plan
from server.http.routing import Call
from shared.api.billing import PlanRead


async def list_plans(call: Call) -> list[PlanRead]:
    """GET /billing/plans: every plan, cheapest first."""
    plans = (await call.db.scalars(select(Plan).order_by(Plan.price_month_cents, Plan.id))).all()
    return [PlanRead.model_validate(plan) for plan in plans]
