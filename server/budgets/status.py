"""How a budget's current period is going: its window, what was spent, where it is heading.

1. The period is the current calendar month, quarter or year in UTC, both ends inclusive;
   "today" (UTC) counts as an elapsed day, so on the 1st the burn rate is the day's spend.
2. Spent is the sum of the daily cost rows from the period's start up to today, of the
   budget's account and service when it names them (all the organization's otherwise).
   Every budget of a call is summed by one grouped query (per account and service, one
   conditional sum per distinct period start), so a status page of any number of budgets
   reads the cost rows once; a single budget's own filters narrow that query's WHERE.
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

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.budgets.models import Budget
from server.costs.models import MICROS, CostDaily
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


def _single(values: set[object]) -> object | None:
    """The one value all budgets share, if they share one that narrows (not None)."""
    return next(iter(values)) if len(values) == 1 else None


async def spent_micros(
    db: AsyncSession, *, org_id: int, budgets: Sequence[Budget], now: datetime
) -> dict[int, int]:
    """What each budget's current period has spent so far, by budget id (one query)."""
    if not budgets:
        return {}
    windows = {budget.id: window(budget.period, now) for budget in budgets}
    starts = sorted({w.start for w in windows.values()})
    today = next(iter(windows.values())).today
    sums = [
        func.coalesce(func.sum(case((CostDaily.day >= start, CostDaily.amount_micros), else_=0)), 0)
        for start in starts
    ]
    where: list[ColumnElement[bool]] = [
        CostDaily.org_id == org_id,
        CostDaily.day >= starts[0],
        CostDaily.day <= today,
    ]
    account = _single({budget.account_id for budget in budgets})
    if account is not None:
        where.append(CostDaily.account_id == account)
    service = _single({budget.service for budget in budgets})
    if service is not None:
        where.append(CostDaily.service == service)
    rows = (
        await db.execute(
            select(CostDaily.account_id, CostDaily.service, *sums)
            .where(*where)
            .group_by(CostDaily.account_id, CostDaily.service)
        )
    ).all()
    column = {start: index + 2 for index, start in enumerate(starts)}
    spent: dict[int, int] = {}
    for budget in budgets:
        index = column[windows[budget.id].start]
        spent[budget.id] = sum(
            int(row[index])
            for row in rows
            if (budget.account_id is None or row[0] == budget.account_id)
            and (budget.service is None or row[1] == budget.service)
        )
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
