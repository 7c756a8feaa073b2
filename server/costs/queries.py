"""Reading costs: summary, breakdowns, daily series and the forecast, summed in SQL.

Org-wide figures come from the day totals (cost_account_day, cost_service_day; see
models.py), one account's from its daily rows through the (account_id, day, ...) unique
index: no read scans the organization's daily rows. Each breakdown reads its period and
the preceding one in one grouped query (a conditional sum per period).

Days are UTC. A range defaults to this month to date; both ends are inclusive; it may span
at most MAX_RANGE_DAYS. Amounts are summed as integer micros and shown rounded to cents.

Complete days: Cost Explorer reports a UTC day's costs during the following day(s), so
today's figure is partial (often nothing yet). One rule, `last_complete_day`, decides which
days count for anything that divides by days or compares periods: a day is complete once it
is before today (UTC). Totals include today's partial figure (it was spent); averages,
changes, the forecast and budgets' burn rates use complete days only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from server.cloud_accounts.models import CloudAccount
from server.costs import forecast as forecasting
from server.costs.models import MICROS, CostAccountDay, CostDaily, CostServiceDay, CostSync
from server.db.aggregates import joined
from server.http.errors import BadRequest, NotFound
from shared.api.costs import (
    AccountCost,
    CostForecast,
    CostRange,
    CostSummary,
    CostSyncRead,
    DailyCosts,
    DailySeries,
    ForecastPoint,
    GroupBy,
    ServiceCost,
)

MAX_RANGE_DAYS = 731  # two years, a leap day included
DEFAULT_CURRENCY = "USD"
# Cost Explorer bills $0.01 per GetCostAndUsage request.
# https://aws.amazon.com/aws-cost-management/aws-cost-explorer/pricing/
API_CALL_COST = Decimal("0.01")
# The forecast fits at most forecast.FIT_DAYS; a few more days cover gaps at the end.
HISTORY_DAYS = forecasting.FIT_DAYS + 14
_MICROS_PER_CENT = MICROS // 100
_HALF_CENT = _MICROS_PER_CENT // 2
_ZERO = Decimal("0.00")


def today_utc() -> date:
    return datetime.now(UTC).date()


def last_complete_day(today: date) -> date:
    """The last day whose costs are final: yesterday (see the module's docstring)."""
    return today - timedelta(days=1)


def money(micros: int | None) -> Decimal:
    """Micros rounded half up to cents (integer arithmetic: a year of daily series is
    18,000 amounts, and Decimal division costs several times more)."""
    value = micros or 0
    cents = (abs(value) + _HALF_CENT) // _MICROS_PER_CENT
    return Decimal(cents if value >= 0 else -cents).scaleb(-2)


def _pct(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def _change(current: int, previous: int | None) -> float | None:
    """Percent change vs the preceding period; None when it had no cost to compare with."""
    if not previous:
        return None
    return round((current - previous) * 100 / previous, 2)


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def preceding(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]


def period_of(query: CostRange, today: date) -> Period:
    """The query's range (defaults: this month to date), validated: 400 naming the field."""
    start = query.start or today.replace(day=1)
    end = query.end or max(today, start)
    if start > end:
        raise BadRequest("start: must be on or before end")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise BadRequest(f"end: a range spans at most {MAX_RANGE_DAYS} days")
    return Period(start, end)


async def _check_account(db: AsyncSession, org_id: int, account_id: int | None) -> None:
    """Another organization's account is a 404, as if it did not exist."""
    if account_id is None:
        return
    found = await db.scalar(
        select(CloudAccount.id).where(CloudAccount.id == account_id, CloudAccount.org_id == org_id)
    )
    if found is None:
        raise NotFound("Cloud account not found")


async def _currency(db: AsyncSession, org_id: int) -> str:
    currency = await db.scalar(
        select(CostDaily.currency)
        .where(CostDaily.org_id == org_id)
        .order_by(CostDaily.day.desc())
        .limit(1)
    )
    return currency or DEFAULT_CURRENCY


def _scope(table: Any, org_id: int, account_id: int | None) -> list[ColumnElement[bool]]:
    """The organization's rows, or one account's (already checked to be the organization's:
    without org_id in the WHERE its reads are covered by an account index)."""
    if account_id is None:
        return [table.org_id == org_id]
    return [table.account_id == account_id]


@dataclass(frozen=True)
class Comparison:
    """A range's amount, and its complete days against as many days just before them:
    comparing a range that ends today with a full earlier one would show flat spending
    falling by today's missing share."""

    period: Period
    compared: Period | None  # the range's complete days; None when it has none yet

    @classmethod
    def of(cls, period: Period, today: date) -> Comparison:
        end = min(period.end, last_complete_day(today))
        return cls(period, Period(period.start, end) if end >= period.start else None)

    @property
    def first_day(self) -> date:
        return self.compared.preceding().start if self.compared else self.period.start

    def sums(self, day: Any, amount: Any) -> tuple[Any, Any, Any]:
        """Conditional sums: the whole range, its complete days, the days before them."""
        current = func.sum(case((day >= self.period.start, amount))).label("current")
        if self.compared is None:
            return current, literal(None).label("compared"), literal(None).label("previous")
        compared = func.sum(
            case((and_(day >= self.period.start, day <= self.compared.end), amount), else_=0)
        )
        previous = func.sum(case((day < self.period.start, amount)))
        return current, compared.label("compared"), previous.label("previous")

    @staticmethod
    def change(compared: int | None, previous: int | None) -> float | None:
        return _change(int(compared or 0), previous) if compared is not None else None


async def _daily_totals(
    db: AsyncSession, *, org_id: int, account_id: int | None, start: date, end: date
) -> list[tuple[date, int]]:
    """(day, micros) of every day with costs from start to end, all accounts or one."""
    table = CostAccountDay
    where: list[ColumnElement[bool]] = [table.org_id == org_id, table.day >= start]
    where.append(table.day <= end)
    if account_id is not None:
        where.append(table.account_id == account_id)
    rows = await db.execute(
        select(table.day, func.sum(table.amount_micros)).where(*where).group_by(table.day)
    )
    return [(day, int(total)) for day, total in rows.all()]


async def _last_synced_at(
    db: AsyncSession, *, org_id: int, account_id: int | None
) -> datetime | None:
    where = [CostSync.org_id == org_id, CostSync.status == "succeeded"]
    if account_id is not None:
        where.append(CostSync.account_id == account_id)
    value: datetime | None = await db.scalar(select(func.max(CostSync.finished_at)).where(*where))
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def summary(
    db: AsyncSession, *, org_id: int, account_id: int | None, today: date
) -> CostSummary:
    """This month to date, last month, the month-end forecast (the month's complete days +
    the forecast of the rest of the month, today included) and the average of this month's
    complete days (none on the 1st)."""
    await _check_account(db, org_id, account_id)
    month_start = today.replace(day=1)
    previous_start = (month_start - timedelta(days=1)).replace(day=1)
    history_start = min(previous_start, today - timedelta(days=HISTORY_DAYS))
    totals = await _daily_totals(
        db, org_id=org_id, account_id=account_id, start=history_start, end=today
    )
    current = sum(micros for day, micros in totals if day >= month_start)
    previous = sum(micros for day, micros in totals if previous_start <= day < month_start)
    complete_days = (last_complete_day(today) - month_start).days + 1
    complete = sum(
        micros for day, micros in totals if month_start <= day <= last_complete_day(today)
    )
    month_end = forecasting.month_end_forecast(
        [(day, Decimal(micros) / MICROS) for day, micros in totals], today
    )
    return CostSummary(
        current_month=money(current),
        previous_month=money(previous),
        forecast_month_end=month_end.total,
        daily_average=money(complete // complete_days) if complete_days else None,
        currency=await _currency(db, org_id),
        last_synced_at=await _last_synced_at(db, org_id=org_id, account_id=account_id),
    )


async def by_service(
    db: AsyncSession, *, org_id: int, query: CostRange, today: date
) -> list[ServiceCost]:
    """Each service's cost in the range, its share, and its change vs the preceding period."""
    await _check_account(db, org_id, query.account_id)
    ranges = Comparison.of(period_of(query, today), today)
    table: Any = CostServiceDay if query.account_id is None else CostDaily
    where = [*_scope(table, org_id, query.account_id), table.day >= ranges.first_day]
    where.append(table.day <= ranges.period.end)
    rows = (
        await db.execute(
            select(table.service, *ranges.sums(table.day, table.amount_micros))
            .where(*where)
            .group_by(table.service)
        )
    ).all()
    found = [(service, int(now), *rest) for service, now, *rest in rows if now is not None]
    whole = sum(now for _, now, _, _ in found)
    found.sort(key=lambda item: (-item[1], item[0]))
    return [
        ServiceCost(
            service=service,
            amount=money(now),
            share_pct=_pct(now, whole),
            change_pct=Comparison.change(compared, previous),
        )
        for service, now, compared, previous in found
    ]


async def _account_names(db: AsyncSession, org_id: int) -> dict[int, str]:
    rows = await db.execute(
        select(CloudAccount.id, CloudAccount.name).where(CloudAccount.org_id == org_id)
    )
    return {account_id: name for account_id, name in rows.all()}


async def by_account(
    db: AsyncSession, *, org_id: int, query: CostRange, today: date
) -> list[AccountCost]:
    """Each account's cost in the range, its share, and its change vs the preceding period."""
    await _check_account(db, org_id, query.account_id)
    ranges = Comparison.of(period_of(query, today), today)
    table = CostAccountDay
    where = [table.org_id == org_id, table.day >= ranges.first_day]
    where.append(table.day <= ranges.period.end)
    if query.account_id is not None:
        where.append(table.account_id == query.account_id)
    rows = (
        await db.execute(
            select(table.account_id, *ranges.sums(table.day, table.amount_micros))
            .where(*where)
            .group_by(table.account_id)
        )
    ).all()
    names = await _account_names(db, org_id)
    found = [(account, int(now), *rest) for account, now, *rest in rows if now is not None]
    whole = sum(now for _, now, _, _ in found)
    found.sort(key=lambda item: (-item[1], item[0]))
    return [
        AccountCost(
            account_id=account,
            name=names.get(account, str(account)),
            amount=money(now),
            share_pct=_pct(now, whole),
            change_pct=Comparison.change(compared, previous),
        )
        for account, now, compared, previous in found
    ]


def _cents(micros: Any) -> Any:
    """SQL for money(micros) in whole cents: half up on the absolute value. `//` of integers
    is SQL's `/`, which truncates towards zero (SQLite and PostgreSQL alike)."""
    return case(
        (micros >= 0, (micros + _HALF_CENT) // _MICROS_PER_CENT),
        else_=(micros - _HALF_CENT) // _MICROS_PER_CENT,
    )


def _amounts(cents_text: str) -> list[Decimal]:
    """money() of each of "41073,-5,0" (cents): "41073E-2" is Decimal("410.73") exactly, and
    a C-level map over the strings costs a fraction of building each Decimal in Python."""
    return list(map(Decimal, (cents_text.replace(",", "E-2,") + "E-2").split(",")))


async def daily(
    db: AsyncSession,
    *,
    org_id: int,
    query: CostRange,
    group_by: GroupBy,
    today: date,
) -> DailyCosts:
    """One series per service (or account), one amount per day of the range, zero on days
    without costs; the largest total first.

    Each series comes from the database as one row: its days and its amounts in cents, each joined
    with commas, and its total (returning a year's 18,000 (key, day, amount) rows one by one
    took ~25 ms of row and object building alone). A series with a value for every day, in
    order (its days text is the range's), is used as it is; any other is placed day by day."""
    await _check_account(db, org_id, query.account_id)
    period = period_of(query, today)
    table: Any
    key: Any
    if group_by is GroupBy.account:
        table, key = CostAccountDay, CostAccountDay.account_id
    elif query.account_id is None:
        table, key = CostServiceDay, CostServiceDay.service
    else:
        table, key = CostDaily, CostDaily.service
    where = [*_scope(table, org_id, query.account_id), table.day >= period.start]
    where.append(table.day <= period.end)
    day_text = type_coerce(table.day, String)  # ISO text, as stored: no date parsing
    series_key: Any
    day_column: Any
    micros: Any
    if table is CostDaily:
        # Several rows a day per service (one per linked account): summed first.
        per_day = (
            select(
                key.label("key"),
                day_text.label("day"),
                func.sum(table.amount_micros).label("micros"),
            )
            .where(*where)
            .group_by(table.day, key)  # the index order: no sort
            .subquery()
        )
        series_key, day_column, micros = per_day.c.key, per_day.c.day, per_day.c.micros
        where = []
    else:
        # The day totals have one row per key and day.
        series_key, day_column, micros = key, day_text, table.amount_micros
    connection = await db.connection()
    dialect = connection.dialect.name
    if dialect != "sqlite":
        day_column = cast(day_column, String)  # a date; SQLite stores it as ISO text already
        # PostgreSQL's sum of BIGINTs is NUMERIC, whose `/` would not truncate as _cents
        # needs; SQLite's sum of integers is an integer.
        micros = cast(micros, BigInteger)
    rows = await connection.execute(
        select(
            series_key,
            joined(day_column, order_by=day_column, dialect=dialect),
            joined(_cents(micros), order_by=day_column, dialect=dialect),
            func.sum(micros),
        )
        .where(*where)
        .group_by(series_key)
    )
    days = period.dates()
    iso_days = [day.isoformat() for day in days]
    every_day = ",".join(iso_days)
    found = []
    for found_key, found_days, found_amounts, total in rows.all():
        amounts = _amounts(found_amounts)
        if found_days != every_day:
            by_day = dict(zip(found_days.split(","), amounts, strict=True))
            amounts = [by_day.get(iso_day, _ZERO) for iso_day in iso_days]
        found.append((found_key, amounts, int(total)))
    names = await _account_names(db, org_id) if group_by is GroupBy.account else {}
    found.sort(key=lambda item: (-item[2], str(item[0])))
    return DailyCosts(
        group_by=group_by,
        currency=await _currency(db, org_id),
        days=days,
        complete_through=last_complete_day(today),
        # Built without validation: the amounts are Decimals already, 18,000 for a year.
        series=[
            DailySeries.model_construct(
                key=str(series_key),
                label=names.get(series_key, str(series_key)) if names else str(series_key),
                amounts=amounts,
                total=money(total),
            )
            for series_key, amounts, total in found
        ],
    )


async def cost_forecast(
    db: AsyncSession, *, org_id: int, account_id: int | None, days: int, today: date
) -> CostForecast:
    """The next `days` days from the synced history of complete days (before today): no
    provider call. Methods and interval: server/costs/forecast.py."""
    await _check_account(db, org_id, account_id)
    yesterday = last_complete_day(today)
    totals = await _daily_totals(
        db,
        org_id=org_id,
        account_id=account_id,
        start=yesterday - timedelta(days=HISTORY_DAYS),
        end=yesterday,
    )
    first = await _first_day(db, org_id=org_id, account_id=account_id)
    history_days = (yesterday - first).days + 1 if first is not None and first <= yesterday else 0
    found = forecasting.forecast_costs(
        [(day, Decimal(micros) / MICROS) for day, micros in totals], days
    )
    return CostForecast(
        method=found.method,
        currency=await _currency(db, org_id),
        history_days=history_days,
        total=found.total,
        total_lower=found.total_lower,
        total_upper=found.total_upper,
        points=[
            ForecastPoint(date=p.date, mean=p.mean, lower=p.lower, upper=p.upper)
            for p in found.points
        ],
    )


async def _first_day(db: AsyncSession, *, org_id: int, account_id: int | None) -> date | None:
    where = [CostAccountDay.org_id == org_id]
    if account_id is not None:
        where.append(CostAccountDay.account_id == account_id)
    first: date | None = await db.scalar(select(func.min(CostAccountDay.day)).where(*where))
    return first


async def last_syncs(db: AsyncSession, *, org_id: int) -> list[CostSyncRead]:
    """The latest sync of each account of the organization, and what its calls cost."""
    latest = (
        select(func.max(CostSync.id))
        .where(CostSync.org_id == org_id)
        .group_by(CostSync.account_id)
        .scalar_subquery()
    )
    rows = await db.execute(
        select(CostSync, CloudAccount.name)
        .join(
            CloudAccount,
            and_(CloudAccount.id == CostSync.account_id, CloudAccount.org_id == org_id),
        )
        .where(CostSync.id.in_(latest))
        .order_by(CloudAccount.name, CostSync.account_id)
    )
    return [
        CostSyncRead(
            account_id=sync.account_id,
            account_name=name,
            status=sync.status,
            job_id=sync.job_id,
            start_day=sync.start_day,
            end_day=sync.end_day,
            rows=sync.rows,
            api_calls=sync.api_calls,
            api_cost=sync.api_calls * API_CALL_COST,
            detail=sync.detail,
            started_at=sync.started_at,
            finished_at=sync.finished_at,
        )
        for sync, name in rows.all()
    ]
