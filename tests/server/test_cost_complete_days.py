"""Today's partial day: Cost Explorer reports a day during the next, so the current day has
little or nothing yet. Averages, changes, the series' last final day, the forecast and the
budgets' burn rates count complete days (before today) only; totals include today's figure.

Every case is flat spending of $10 a day, which every figure must read as flat."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.costs import queries
from shared.api.costs import CostRange, GroupBy
from tests.conftest import World
from tests.server.test_budgets import add_account, add_costs, create, status_at

DAILY = "10.00"


async def flat_spending(db: AsyncSession, org_id: int, *, through: date, today: str = "") -> None:
    """$10 a day for the 60 days up to `through`, and `today` (if any) on the day after."""
    account = await add_account(db, org_id)
    rows = [(through - timedelta(days=back), "Amazon EC2", DAILY) for back in range(60)]
    if today:
        rows.append((through + timedelta(days=1), "Amazon EC2", today))
    await add_costs(db, org_id, account, rows)


async def figures(
    client: TestClient, db: AsyncSession, world: World, today: date
) -> dict[str, Any]:
    """What the summary, the breakdowns, the series and a monthly budget say on `today`."""
    org = world.org_a
    async with db.begin():
        summary = await queries.summary(db, org_id=org, account_id=None, today=today)
        services = await queries.by_service(db, org_id=org, query=CostRange(), today=today)
        accounts = await queries.by_account(db, org_id=org, query=CostRange(), today=today)
        daily = await queries.daily(
            db, org_id=org, query=CostRange(), group_by=GroupBy.service, today=today
        )
    budget = await create(client, world, name=f"month {today}", amount="1000")
    now = datetime.combine(today, time(15), tzinfo=UTC)
    status = await status_at(db, org, budget["id"], now)
    return {
        "summary": summary,
        "services": services,
        "accounts": accounts,
        "daily": daily,
        "budget": status,
    }


async def test_a_month_in_progress_with_nothing_yet_for_today_reads_as_flat(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    today = date(2026, 3, 6)
    await flat_spending(db, world.org_a, through=date(2026, 3, 5))

    found = await figures(client, db, world, today)

    summary = found["summary"]
    assert (summary.current_month, summary.daily_average) == (Decimal("50.00"), Decimal("10.00"))
    assert [(s.amount, s.change_pct) for s in found["services"]] == [(Decimal("50.00"), 0.0)]
    assert [(a.amount, a.change_pct) for a in found["accounts"]] == [(Decimal("50.00"), 0.0)]
    assert found["daily"].complete_through == date(2026, 3, 5)
    budget = found["budget"]
    assert (budget.spent, budget.burn_rate_per_day) == (Decimal("50.00"), Decimal("10.00"))
    assert budget.projected_total == Decimal("310.00")  # 31 days of March
    # The summary's forecast and the budget's projection agree on the same days.
    assert abs(summary.forecast_month_end - budget.projected_total) <= Decimal("1.00")


async def test_todays_partial_figure_is_spent_but_moves_no_rate_or_change(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    today = date(2026, 3, 6)
    await flat_spending(db, world.org_a, through=date(2026, 3, 5), today="3.00")

    found = await figures(client, db, world, today)

    summary = found["summary"]
    assert (summary.current_month, summary.daily_average) == (Decimal("53.00"), Decimal("10.00"))
    assert [(s.amount, s.change_pct) for s in found["services"]] == [(Decimal("53.00"), 0.0)]
    budget = found["budget"]
    assert (budget.spent, budget.burn_rate_per_day) == (Decimal("53.00"), Decimal("10.00"))
    assert budget.projected_total == Decimal("310.00")
    series = found["daily"].series[0]
    assert series.amounts[-1] == Decimal("3.00")  # shown, and marked partial:
    assert found["daily"].days[-1] > found["daily"].complete_through


async def test_the_first_day_of_a_month_has_no_average_or_change_and_projects_last_weeks_rate(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    today = date(2026, 4, 1)
    await flat_spending(db, world.org_a, through=date(2026, 3, 31), today="2.00")

    found = await figures(client, db, world, today)

    summary = found["summary"]
    assert (summary.current_month, summary.previous_month) == (Decimal("2.00"), Decimal("310.00"))
    assert summary.daily_average is None
    assert [(s.amount, s.change_pct) for s in found["services"]] == [(Decimal("2.00"), None)]
    budget = found["budget"]
    assert (budget.spent, budget.burn_rate_per_day) == (Decimal("2.00"), Decimal("10.00"))
    assert budget.projected_total == Decimal("300.00")  # 30 days of April at last week's rate
    assert abs(summary.forecast_month_end - budget.projected_total) <= Decimal("1.00")


async def test_across_a_month_boundary_the_complete_days_are_compared_with_the_days_before(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    """On 2 March: 1 March against 28 February, not 1-2 March against 27-28 February."""
    today = date(2026, 3, 2)
    await flat_spending(db, world.org_a, through=date(2026, 3, 1))

    found = await figures(client, db, world, today)

    summary = found["summary"]
    assert (summary.current_month, summary.previous_month) == (Decimal("10.00"), Decimal("280.00"))
    assert summary.daily_average == Decimal("10.00")
    assert [s.change_pct for s in found["services"]] == [0.0]
    budget = found["budget"]
    assert (budget.burn_rate_per_day, budget.projected_total) == (
        Decimal("10.00"),
        Decimal("310.00"),
    )


async def test_a_range_that_ended_before_today_compares_all_its_days(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await flat_spending(db, world.org_a, through=date(2026, 3, 5))
    february = CostRange(start=date(2026, 2, 1), end=date(2026, 2, 28))

    async with db.begin():
        services = await queries.by_service(
            db, org_id=world.org_a, query=february, today=date(2026, 3, 6)
        )

    # 28 days at $10 against the 28 before them (4-31 January), of which the 4th had none.
    assert [(s.amount, s.change_pct) for s in services] == [(Decimal("280.00"), 3.7)]
