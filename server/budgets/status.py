"""How a budget's current period is going: its window, what was spent, where it is heading.

1. The period is the current calendar month, quarter or year in UTC, both ends inclusive;
   "today" (UTC) counts as an elapsed day, so on the 1st the burn rate is the day's spend.
2. Spent is the sum of the daily costs from the period's start up to today, of the
   budget's account and service when it names them (all the organization's otherwise).
   The budgets of a call are summed together: at most three grouped queries (see
   spent_micros), each with one conditional sum per distinct period start, so a status
   page of any number of budgets reads each source once and never scans the daily rows.
3. Projection is a run rate: burn_rate_per_day = spent / days elapsed, projected_total =
   spent + burn rate x days remaining. The seasonal forecast of server/costs/forecast.py is
   not used: it forecasts whole-organization or whole-account series, needs a daily series
   per budget (a query per budget) and serves monthly horizons, while budgets are also
   narrowed to a service and run a quarter or a year; a run rate reads from the same sum.
4. State, from exact integer micros: exceeded at 100% or more, warning at the alert
   threshold or more, ok below. Amounts shown are rounded to cents, pct_used to 0.01.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.budgets.models import Budget
from server.costs.models import MICROS, CostAccountDay, CostDaily, CostServiceDay
from shared.api.budgets import BudgetPeriod, BudgetState, BudgetStatus

_CENT = Decimal("0.01")
_MONTHS_PER_PERIOD = {BudgetPeriod.monthly: 1, BudgetPeriod.quarterly: 3, BudgetPeriod.yearly: 12}


@dataclass(frozen=True)
class Window:
    """The current period of a budget, both ends inclusive, and today within it."""

    start: date
    end: date
    today: date

    @property
    def days_elapsed(self) -> int:
        return (self.today - self.start).days + 1

    @property
    def days_remaining(self) -> int:
        return (self.end - self.today).days


def window(period: BudgetPeriod | str, now: datetime) -> Window:
    """The calendar month, quarter or year (UTC) holding `now`."""
    today = now.astimezone(UTC).date()
    months = _MONTHS_PER_PERIOD[BudgetPeriod(period)]
    first_month = (today.month - 1) // months * months + 1
    start = date(today.year, first_month, 1)
    next_month = first_month + months
    if next_month > 12:
        after = date(today.year + 1, next_month - 12, 1)
    else:
        after = date(today.year, next_month, 1)
    return Window(start=start, end=after - timedelta(days=1), today=today)


def money(micros: int | Fraction) -> Decimal:
    """Micros as a decimal amount rounded to cents (half up)."""
    value = Fraction(micros) / MICROS
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(_CENT, rounding=ROUND_HALF_UP)


def state_of(*, spent_micros: int, amount_micros: int, threshold_pct: int) -> BudgetState:
    if spent_micros >= amount_micros:
        return BudgetState.exceeded
    if spent_micros * 100 >= amount_micros * threshold_pct:
        return BudgetState.warning
    return BudgetState.ok


Key = tuple[object, ...]  # what a budget narrows to in one source; None matches any value


async def _sum_grouped(
    db: AsyncSession,
    budgets: Sequence[tuple[Budget, Key]],
    windows: dict[int, Window],
    *,
    day: Any,
    amount: Any,
    keys: Sequence[Any],
    where: Sequence[ColumnElement[bool]],
) -> dict[int, int]:
    """One query: per value of `keys`, a conditional sum per distinct period start; then
    each budget adds up the groups its key matches."""
    starts = sorted({windows[budget.id].start for budget, _ in budgets})
    today = windows[budgets[0][0].id].today
    sums = [func.coalesce(func.sum(case((day >= start, amount), else_=0)), 0) for start in starts]
    rows = (
        await db.execute(
            select(*keys, *sums).where(*where, day >= starts[0], day <= today).group_by(*keys)
        )
    ).all()
    column = {start: index + len(keys) for index, start in enumerate(starts)}
    spent: dict[int, int] = {}
    for budget, key in budgets:
        index = column[windows[budget.id].start]
        spent[budget.id] = sum(
            int(row[index])
            for row in rows
            if all(want is None or want == got for want, got in zip(key, row, strict=False))
        )
    return spent


async def spent_micros(
    db: AsyncSession, *, org_id: int, budgets: Sequence[Budget], now: datetime
) -> dict[int, int]:
    """What each budget's current period has spent so far, by budget id.

    Never a scan of the organization's daily rows: budgets of every service (all accounts
    or one) read the per-account day totals, budgets of one service in every account the
    per-service day totals (server/costs/models.py keeps both), budgets of one service in
    one account that pair's daily rows through the (account_id, day, service) unique index.
    So at most three queries, whatever the number of budgets.
    """
    windows = {budget.id: window(budget.period, now) for budget in budgets}
    by_account, by_service, by_both = [], [], []
    for budget in budgets:
        if budget.service is None:
            by_account.append((budget, (budget.account_id,)))
        elif budget.account_id is None:
            by_service.append((budget, (budget.service,)))
        else:
            by_both.append((budget, (budget.account_id, budget.service)))
    spent: dict[int, int] = {}
    if by_account:
        where = [CostAccountDay.org_id == org_id]
        accounts = {key[0] for _, key in by_account}
        if None not in accounts:
            where.append(CostAccountDay.account_id.in_(accounts))
        spent |= await _sum_grouped(
            db, by_account, windows, day=CostAccountDay.day,
            amount=CostAccountDay.amount_micros, keys=[CostAccountDay.account_id], where=where,
        )  # fmt: skip
    if by_service:
        services = {key[0] for _, key in by_service}
        spent |= await _sum_grouped(
            db, by_service, windows, day=CostServiceDay.day,
            amount=CostServiceDay.amount_micros, keys=[CostServiceDay.service],
            where=[CostServiceDay.org_id == org_id, CostServiceDay.service.in_(services)],
        )  # fmt: skip
    if by_both:
        pairs = or_(
            *(
                and_(CostDaily.account_id == account, CostDaily.service == service)
                for account, service in {key for _, key in by_both}
            )
        )
        # No org_id term: the accounts are the organization's (checked when the budget was
        # saved), and with one SQLite plans the (org_id, day) index, reading every row of
        # the organization's period, instead of the unique index once per pair.
        spent |= await _sum_grouped(
            db, by_both, windows, day=CostDaily.day, amount=CostDaily.amount_micros,
            keys=[CostDaily.account_id, CostDaily.service], where=[pairs],
        )  # fmt: skip
    return spent


def figures(budget: Budget, *, spent: int, now: datetime) -> BudgetStatus:
    """The status of `budget` given what its current period has spent (micros)."""
    period = window(budget.period, now)
    burn = Fraction(spent, period.days_elapsed)
    projected = spent + burn * period.days_remaining
    amount = budget.amount_micros
    return BudgetStatus(
        budget_id=budget.id,
        name=budget.name,
        currency=budget.currency,
        amount=money(amount),
        period_start=period.start,
        period_end=period.end,
        spent=money(spent),
        remaining=money(max(0, amount - spent)),
        pct_used=round(spent * 100 / amount, 2) if amount else 0.0,
        burn_rate_per_day=money(burn),
        projected_total=money(projected),
        projected_overage=money(max(Fraction(0), projected - amount)),
        state=state_of(
            spent_micros=spent, amount_micros=amount, threshold_pct=budget.alert_threshold_pct
        ),
    )


async def statuses(
    db: AsyncSession, *, org_id: int, budgets: Sequence[Budget], now: datetime
) -> list[BudgetStatus]:
    """The status of each budget, in the order given."""
    spent = await spent_micros(db, org_id=org_id, budgets=budgets, now=now)
    return [figures(budget, spent=spent[budget.id], now=now) for budget in budgets]
