"""How a budget's current period is going: its window, what was spent, where it is heading.

1. The period is the current calendar month, quarter or year in UTC, both ends inclusive.
   Its complete days are those before today (server/costs/queries.py, last_complete_day):
   today's figure is partial until Cost Explorer reports the day.
2. Spent is the sum of the daily costs from the period's start up to today, today's partial
   figure included, of the budget's account and service when it names them (all the
   organization's otherwise).
   The budgets of a call are summed together: at most three grouped queries (see
   spent_micros), each with one conditional sum per distinct period start, so a status
   page of any number of budgets reads each source once and never scans the daily rows.
3. Projection is a run rate over complete days: burn_rate_per_day = spent on complete days
   / complete days, projected_total = that spend + burn rate x the days left, today
   included (and never below what is spent already). On the period's first day, with no
   complete day in it yet, the rate is that of the RECENT_DAYS complete days before it. The
   seasonal forecast of server/costs/forecast.py is
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
from itertools import chain
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.budgets.models import Budget
from server.costs.models import MICROS, CostAccountDay, CostDaily, CostServiceDay
from server.costs.queries import last_complete_day
from shared.api.budgets import BudgetPeriod, BudgetState, BudgetStatus

_CENT = Decimal("0.01")
RECENT_DAYS = 7  # the burn rate of a period with no complete day yet: the week before it
_MONTHS_PER_PERIOD = {BudgetPeriod.monthly: 1, BudgetPeriod.quarterly: 3, BudgetPeriod.yearly: 12}


@dataclass(frozen=True)
class Window:
    """The current period of a budget, both ends inclusive, and today within it."""

    start: date
    end: date
    today: date

    @property
    def complete_days(self) -> int:
        return (last_complete_day(self.today) - self.start).days + 1

    @property
    def days_left(self) -> int:
        """Today and the days after it: what the burn rate still has to cover."""
        return (self.end - self.today).days + 1


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


@dataclass(frozen=True)
class Spent:
    """Micros spent: in a budget's period up to today, on its complete days alone, and on
    the RECENT_DAYS complete days before today (whatever the period)."""

    total: int
    complete: int = 0
    recent: int = 0


async def _sum_grouped(
    db: AsyncSession,
    budgets: Sequence[tuple[Budget, Key]],
    windows: dict[int, Window],
    *,
    day: Any,
    amount: Any,
    keys: Sequence[Any],
    where: Sequence[ColumnElement[bool]],
) -> dict[int, Spent]:
    """One query: per value of `keys`, two conditional sums per distinct period start (up to
    today, and up to the last complete day); then each budget adds up the groups its key
    matches."""
    starts = sorted({windows[budget.id].start for budget, _ in budgets})
    today = windows[budgets[0][0].id].today
    complete = day <= last_complete_day(today)
    recent_start = today - timedelta(days=RECENT_DAYS)
    conditions = [(day >= start, and_(day >= start, complete)) for start in starts]
    sums = [
        func.coalesce(func.sum(case((condition, amount), else_=0)), 0)
        for condition in (and_(day >= recent_start, complete), *chain(*conditions))
    ]
    since = min(starts[0], recent_start)
    rows = (
        await db.execute(
            select(*keys, *sums).where(*where, day >= since, day <= today).group_by(*keys)
        )
    ).all()
    recent = len(keys)
    column = {start: recent + 1 + 2 * index for index, start in enumerate(starts)}
    spent: dict[int, Spent] = {}
    for budget, key in budgets:
        index = column[windows[budget.id].start]
        matching = [
            row
            for row in rows
            if all(want is None or want == got for want, got in zip(key, row, strict=False))
        ]
        spent[budget.id] = Spent(
            total=sum(int(row[index]) for row in matching),
            complete=sum(int(row[index + 1]) for row in matching),
            recent=sum(int(row[recent]) for row in matching),
        )
    return spent


async def spent_micros(
    db: AsyncSession, *, org_id: int, budgets: Sequence[Budget], now: datetime
) -> dict[int, Spent]:
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
    spent: dict[int, Spent] = {}
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


def figures(budget: Budget, *, spent: Spent, now: datetime) -> BudgetStatus:
    """The status of `budget` given what its current period has spent (steps 3 and 4)."""
    period = window(budget.period, now)
    if period.complete_days:
        burn = Fraction(spent.complete, period.complete_days)
    else:
        burn = Fraction(spent.recent, RECENT_DAYS)
    projected = max(spent.complete + burn * period.days_left, Fraction(spent.total))
    amount = budget.amount_micros
    spent_micros = spent.total
    return BudgetStatus(
        budget_id=budget.id,
        name=budget.name,
        currency=budget.currency,
        amount=money(amount),
        period_start=period.start,
        period_end=period.end,
        spent=money(spent_micros),
        remaining=money(max(0, amount - spent_micros)),
        pct_used=round(spent_micros * 100 / amount, 2) if amount else 0.0,
        burn_rate_per_day=money(burn),
        projected_total=money(projected),
        projected_overage=money(max(Fraction(0), projected - amount)),
        state=state_of(
            spent_micros=spent_micros,
            amount_micros=amount,
            threshold_pct=budget.alert_threshold_pct,
        ),
    )


async def statuses(
    db: AsyncSession, *, org_id: int, budgets: Sequence[Budget], now: datetime
) -> list[BudgetStatus]:
    """The status of each budget, in the order given."""
    spent = await spent_micros(db, org_id=org_id, budgets=budgets, now=now)
    return [figures(budget, spent=spent[budget.id], now=now) for budget in budgets]
