"""HTTP handlers of /billing: parse -> query -> serialize."""

from __future__ import annotations

from sqlalchemy import select

from server.billing.models import Plan
from server.billing.plans import SELF_HOSTED
from server.http.routing import Call
from shared.api.billing import PlanRead


async def list_plans(call: Call) -> list[PlanRead]:
    """GET /billing/plans: every plan for sale, cheapest first (not the Self-hosted one)."""
    query = select(Plan).where(Plan.code != SELF_HOSTED)
    plans = (await call.db.scalars(query.order_by(Plan.price_month_cents, Plan.id))).all()
    return [PlanRead.model_validate(plan) for plan in plans]
