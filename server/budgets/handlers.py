"""HTTP handlers for /budgets: parse -> call service -> serialize."""

from __future__ import annotations

from datetime import UTC, datetime

from server.budgets import service as budgets
from server.http.routing import Call
from shared.api.budgets import BudgetRead, BudgetStatus
from shared.api.common import Page


async def list_budgets(call: Call) -> Page[BudgetRead]:
    """GET /budgets"""
    return await budgets.list_budgets(call.db, org_id=call.auth.org_id, query=call.query)


async def create_budget(call: Call) -> BudgetRead:
    """POST /budgets"""
    return await budgets.create_budget(call.ctx, data=call.body)


async def status_all(call: Call) -> list[BudgetStatus]:
    """GET /budgets/status"""
    return await budgets.status_all(call.db, org_id=call.auth.org_id, now=datetime.now(UTC))


async def get_budget(call: Call) -> BudgetRead:
    """GET /budgets/{id}"""
    return await budgets.get_budget(call.db, org_id=call.auth.org_id, budget_id=call.path["id"])


async def update_budget(call: Call) -> BudgetRead:
    """PATCH /budgets/{id}"""
    return await budgets.update_budget(call.ctx, budget_id=call.path["id"], data=call.body)


async def delete_budget(call: Call) -> None:
    """DELETE /budgets/{id}"""
    await budgets.delete_budget(call.ctx, budget_id=call.path["id"])


async def get_status(call: Call) -> BudgetStatus:
    """GET /budgets/{id}/status"""
    return await budgets.status(
        call.db, org_id=call.auth.org_id, budget_id=call.path["id"], now=datetime.now(UTC)
    )
