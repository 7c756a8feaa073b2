"""Budgets: a spending limit per period, its status, and the incidents it opens and resolves.

Amounts are stored as integer micros (server/costs/models.py) and travel as decimal strings.
How a period's status is computed is in server/budgets/status.py.

Evaluation (`evaluate`, run by the cost sync after each sync, and by create and change
here so a member raising a limit sees its incident resolve at once):

1. Every budget of the organization gets its status from one grouped query of the cost rows.
2. An incident is open exactly while its condition holds, so re-evaluating changes nothing:
   `budget_threshold` (warning) while pct_used >= alert_threshold_pct (not for a threshold
   of 100, where `budget_exceeded` alone says it), `budget_exceeded` (critical) while
   pct_used >= 100. Both stay open past 100%: the warning tells when the threshold was crossed.
   The database holds one unresolved incident per trigger and budget.
3. When a condition stops holding (a new period began, the budget was raised or widened,
   estimates were revised down), its incident resolves automatically, with the figures.
4. budget.state and evaluated_at are stored (updated_at is left to members' changes); a
   change of state is a `budget.state` live event.
5. Incidents of budgets that are gone (deleted with their cloud account) are resolved.
Deleting a budget resolves its open incidents first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from server.audit import service as audit
from server.budgets import status as figures
from server.budgets.models import Budget
from server.cloud_accounts.models import CloudAccount
from server.costs.models import MICROS
from server.db import paging
from server.db.base import utcnow
from server.http.errors import BadRequest, Conflict, NotFound
from server.incidents import service as incidents
from server.incidents.models import Incident
from server.notifications import outbox
from server.service_context import Context
from shared.api.budgets import (
    BudgetCreate,
    BudgetPeriod,
    BudgetRead,
    BudgetState,
    BudgetStatus,
    BudgetUpdate,
)
from shared.api.common import Page, PageQuery
from shared.api.events import BudgetStateChanged, EventData
from shared.api.incidents import IncidentStatus, Severity, TriggerType
from shared.api.notifications import EventType

LiveEvent = tuple[int, EventData]

TARGET = "budget"
_TRIGGERS = (TriggerType.budget_threshold, TriggerType.budget_exceeded)
_NOT_NULL = {"name", "amount", "period", "alert_threshold_pct"}


def _micros(amount: Decimal) -> int:
    return int(amount * MICROS)  # at most two decimals (BudgetCreate): exact


def _invalid(field: str, message: str) -> BadRequest:
    return BadRequest(f"body field '{field}': {message}")


def budget_read(budget: Budget) -> BudgetRead:
    return BudgetRead(
        id=budget.id,
        name=budget.name,
        amount=figures.money(budget.amount_micros),
        currency=budget.currency,
        period=BudgetPeriod(budget.period),
        alert_threshold_pct=budget.alert_threshold_pct,
        account_id=budget.account_id,
        service=budget.service,
        state=BudgetState(budget.state),
        evaluated_at=budget.evaluated_at,
        created_at=budget.created_at,
        updated_at=budget.updated_at,
    )


async def budget_of(db: AsyncSession, *, org_id: int, budget_id: int) -> Budget:
    """The budget `budget_id` of `org_id`; another org's budget is a 404."""
    budget = await db.scalar(select(Budget).where(Budget.id == budget_id, Budget.org_id == org_id))
    if budget is None:
        raise NotFound("Budget not found")
    return budget


async def list_budgets(db: AsyncSession, *, org_id: int, query: PageQuery) -> Page[BudgetRead]:
    """Budgets by name."""
    statement = select(Budget).where(Budget.org_id == org_id).order_by(Budget.name, Budget.id)
    return await paging.page_of(db, statement, query, Page[BudgetRead], budget_read)


async def get_budget(db: AsyncSession, *, org_id: int, budget_id: int) -> BudgetRead:
    return budget_read(await budget_of(db, org_id=org_id, budget_id=budget_id))


async def _check_account(db: AsyncSession, *, org_id: int, account_id: int | None) -> None:
    """A budget narrows to a cloud account of its own organization only: 400 otherwise,
    the same answer for an unknown id and another organization's, which tells nothing."""
    if account_id is None:
        return
    found = await db.scalar(
        select(CloudAccount.id).where(CloudAccount.id == account_id, CloudAccount.org_id == org_id)
    )
    if found is None:
        raise _invalid("account_id", f"no cloud account {account_id} in this organization")


async def _check_name(db: AsyncSession, *, org_id: int, name: str, budget_id: int | None) -> None:
    query = select(Budget.id).where(Budget.org_id == org_id, Budget.name == name)
    if budget_id is not None:
        query = query.where(Budget.id != budget_id)
    if await db.scalar(query) is not None:
        raise Conflict(f"A budget named {name!r} already exists")


async def _flush(db: AsyncSession, name: str) -> None:
    try:
        await db.flush()
    except IntegrityError as exc:  # a budget of that name was added since _check_name
        raise Conflict(f"A budget named {name!r} already exists") from exc


async def _evaluate_for(ctx: Context, budget: Budget) -> BudgetRead:
    """Evaluate one budget now (its incidents open or resolve) and publish after commit."""
    await evaluate(ctx, org_id=budget.org_id, now=utcnow(), budget_ids=[budget.id])
    return budget_read(budget)


async def create_budget(ctx: Context, *, data: BudgetCreate) -> BudgetRead:
    db, org_id = ctx.db, ctx.auth.org_id
    await _check_account(db, org_id=org_id, account_id=data.account_id)
    await _check_name(db, org_id=org_id, name=data.name, budget_id=None)
    budget = Budget(
        org_id=org_id,
        name=data.name,
        amount_micros=_micros(data.amount),
        currency=data.currency,
        period=data.period.value,
        alert_threshold_pct=data.alert_threshold_pct,
        account_id=data.account_id,
        service=data.service,
    )
    db.add(budget)
    await _flush(db, data.name)
    await audit.record(
        ctx, action="budget.created", resource_type="budget", resource_id=budget.id,
        detail=f"{budget.name!r}: {data.amount} {budget.currency} {budget.period}",
    )  # fmt: skip
    return await _evaluate_for(ctx, budget)


async def update_budget(ctx: Context, *, budget_id: int, data: BudgetUpdate) -> BudgetRead:
    """Change what is given; null widens account_id or service again, and is refused elsewhere."""
    db, org_id = ctx.db, ctx.auth.org_id
    budget = await budget_of(db, org_id=org_id, budget_id=budget_id)
    changes: dict[str, Any] = {}
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None and name in _NOT_NULL:
            raise _invalid(name, "cannot be null")
        if name == "amount":
            changes["amount_micros"] = _micros(value)
        elif name == "period":
            changes["period"] = BudgetPeriod(value).value
        else:
            changes[name] = value
    if "account_id" in changes:
        await _check_account(db, org_id=org_id, account_id=changes["account_id"])
    if "name" in changes:
        await _check_name(db, org_id=org_id, name=changes["name"], budget_id=budget.id)
    changed = sorted(name for name, value in changes.items() if getattr(budget, name) != value)
    for name in changed:
        setattr(budget, name, changes[name])
    if changed:
        await _flush(db, budget.name)
        await audit.record(
            ctx, action="budget.updated", resource_type="budget", resource_id=budget.id,
            detail=f"{budget.name!r}: {', '.join(changed)}",
        )  # fmt: skip
    return await _evaluate_for(ctx, budget)


async def delete_budget(ctx: Context, *, budget_id: int) -> None:
    """Resolve the budget's open incidents (they would have no budget to recover), then delete."""
    budget = await budget_of(ctx.db, org_id=ctx.auth.org_id, budget_id=budget_id)
    for trigger in _TRIGGERS:
        await incidents.resolve_trigger(
            ctx, _trigger(budget.org_id, trigger, budget.id), note="the budget was deleted"
        )
    await ctx.db.delete(budget)
    await ctx.db.flush()
    await audit.record(
        ctx, action="budget.deleted", resource_type="budget", resource_id=budget_id,
        detail=repr(budget.name),
    )  # fmt: skip


async def _budgets(
    db: AsyncSession, *, org_id: int, budget_ids: Sequence[int] | None = None
) -> list[Budget]:
    query = select(Budget).where(Budget.org_id == org_id)
    if budget_ids is not None:
        query = query.where(Budget.id.in_(budget_ids))
    return list(await db.scalars(query.order_by(Budget.name, Budget.id)))


async def status(db: AsyncSession, *, org_id: int, budget_id: int, now: datetime) -> BudgetStatus:
    budget = await budget_of(db, org_id=org_id, budget_id=budget_id)
    (found,) = await figures.statuses(db, org_id=org_id, budgets=[budget], now=now)
    return found


async def status_all(db: AsyncSession, *, org_id: int, now: datetime) -> list[BudgetStatus]:
    """Every budget's status, by name, from one query of the cost rows."""
    budgets = await _budgets(db, org_id=org_id)
    return await figures.statuses(db, org_id=org_id, budgets=budgets, now=now)


# Evaluation


def _describe(budget: Budget, found: BudgetStatus) -> str:
    currency = found.currency
    return (
        f"Spent {found.spent} {currency} of {found.amount} {currency} ({found.pct_used}%) "
        f"in the {budget.period} period {found.period_start} to {found.period_end}; "
        f"projected {found.projected_total} {currency}"
    )


def _wanted(budget: Budget, found: BudgetStatus) -> dict[TriggerType, bool]:
    past_threshold = found.state is not BudgetState.ok and budget.alert_threshold_pct < 100
    return {
        TriggerType.budget_threshold: past_threshold,
        TriggerType.budget_exceeded: found.state is BudgetState.exceeded,
    }


def _title(budget: Budget, trigger: TriggerType, found: BudgetStatus) -> str:
    if trigger is TriggerType.budget_exceeded:
        return f"Budget {budget.name!r} exceeded: {found.pct_used}% used"
    return f"Budget {budget.name!r} past {budget.alert_threshold_pct}%: {found.pct_used}% used"


def _trigger(org_id: int, trigger: TriggerType | str, budget_id: int) -> incidents.Trigger:
    return incidents.Trigger(org_id, TriggerType(trigger), TARGET, budget_id)


async def _apply(ctx: Context, budget: Budget, found: BudgetStatus, now: datetime) -> None:
    db = ctx.db
    for trigger, wanted in _wanted(budget, found).items():
        key = _trigger(budget.org_id, trigger, budget.id)
        if not wanted:
            await incidents.resolve_trigger(ctx, key, note=_describe(budget, found))
            continue
        severity = Severity.critical if trigger is TriggerType.budget_exceeded else Severity.warning
        await incidents.open_incident(
            ctx, trigger=key, title=_title(budget, trigger, found),
            description=_describe(budget, found), severity=severity,
        )  # fmt: skip
    previous = budget.state
    # A statement, so updated_at keeps telling when a member last changed the budget.
    await db.execute(
        update(Budget)
        .where(Budget.id == budget.id)
        .values(state=found.state.value, evaluated_at=now, updated_at=Budget.updated_at)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(budget, "state", found.state.value)
    set_committed_value(budget, "evaluated_at", now)
    if previous != found.state.value:
        changed = BudgetStateChanged(
            id=budget.id,
            name=budget.name,
            state=found.state.value,
            previous_state=previous,
            pct_used=found.pct_used,
        )
        ctx.publish_after_commit(changed, org_id=budget.org_id)
        if found.state is not BudgetState.ok:
            await outbox.notify(ctx, _budget_occurrence(budget, found))


def _budget_occurrence(budget: Budget, found: BudgetStatus) -> outbox.Occurrence:
    """The `budget.threshold` or `budget.exceeded` event of a budget's new state."""
    exceeded = found.state is BudgetState.exceeded
    trigger = TriggerType.budget_exceeded if exceeded else TriggerType.budget_threshold
    return outbox.Occurrence(
        org_id=budget.org_id,
        type=EventType.budget_exceeded.value if exceeded else EventType.budget_threshold.value,
        severity=Severity.critical.value if exceeded else Severity.warning.value,
        title=_title(budget, trigger, found),
        text=_describe(budget, found),
        dedup_key=f"budget-{budget.id}",
        data={"budget": {"id": budget.id, "name": budget.name, "state": found.state.value,
                         "pct_used": found.pct_used, "amount": str(found.amount),
                         "spent": str(found.spent), "currency": found.currency}},
    )  # fmt: skip


async def _resolve_orphans(ctx: Context, *, org_id: int) -> None:
    """Resolve incidents of budgets that no longer exist (gone with their cloud account)."""
    rows = await ctx.db.execute(
        select(Incident.trigger_type, Incident.target_id).where(
            Incident.org_id == org_id,
            Incident.target_type == TARGET,
            Incident.trigger_type.in_([trigger.value for trigger in _TRIGGERS]),
            Incident.status != IncidentStatus.resolved.value,
            Incident.target_id.not_in(select(Budget.id).where(Budget.org_id == org_id)),
        )
    )
    for trigger_type, target_id in rows.all():
        if target_id is None:  # pragma: no cover - NOT IN never holds for NULL
            continue
        trigger = _trigger(org_id, trigger_type, target_id)
        await incidents.resolve_trigger(ctx, trigger, note="the budget no longer exists")


async def evaluate(
    ctx: Context, *, org_id: int, now: datetime, budget_ids: Sequence[int] | None = None
) -> None:
    """Evaluate the organization's budgets (or those of `budget_ids`) as of `now`: their
    incidents open or resolve and their state moves, announced once `ctx` commits."""
    budgets = await _budgets(ctx.db, org_id=org_id, budget_ids=budget_ids)
    found = await figures.statuses(ctx.db, org_id=org_id, budgets=budgets, now=now)
    for budget, budget_status in zip(budgets, found, strict=True):
        await _apply(ctx, budget, budget_status, now)
    if budget_ids is None:
        await _resolve_orphans(ctx, org_id=org_id)
