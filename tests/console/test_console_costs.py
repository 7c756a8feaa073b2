"""The costs and budgets views against a real server: figures from arranged daily cost rows,
a `cost.synced` event re-reads them (tables, sparklines, chart), roles are respected."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from textual.pilot import Pilot
from textual.widgets import Sparkline

from console.app import UpmetrApp
from console.screens.budgets import BudgetsScreen, bar
from console.screens.costs import CostsScreen
from console.widgets.cost_breakdown import CostBreakdown
from console.widgets.forecast_chart import ForecastChart
from server.context import EVENTS
from server.costs.models import CostDaily
from shared.api.events import CostSynced
from tests.conftest import World
from tests.console.console_harness import console_for, table_text, until
from tests.server.test_budgets import add_account, add_costs, create

SIZE = (160, 48)


def today() -> date:
    return datetime.now(UTC).date()


async def two_weeks_of_costs(db: AsyncSession, org_id: int, account_id: int) -> None:
    """EC2 at $10 a day and S3 at $1 a day for the last 14 days."""
    days = [today() - timedelta(days=back) for back in range(14)]
    rows = [(day, "Amazon EC2", "10.00") for day in days]
    rows += [(day, "Amazon S3", "1.00") for day in days]
    await add_costs(db, org_id, account_id, rows)


def breakdown(app: UpmetrApp, name: str) -> CostBreakdown:
    return app.screen.query_one(f"#by-{name}", CostBreakdown)


async def open_costs(pilot: Pilot[None], app: UpmetrApp) -> CostsScreen:
    await until(pilot, lambda: isinstance(app.screen, CostsScreen))
    screen = app.screen
    assert isinstance(screen, CostsScreen)
    await until(pilot, lambda: screen.summary is not None and bool(breakdown(app, "service").lines))
    await until(pilot, lambda: app.connection == "live")
    return screen


async def test_a_cost_synced_event_re_reads_the_figures_and_the_sparklines_follow(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    account_id = await add_account(db, world.org_a)
    await two_weeks_of_costs(db, world.org_a, account_id)
    app = console_for(client, world.alice, view="costs")
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot, app)
        services = breakdown(app, "service")
        assert "Amazon EC2" in table_text(pilot, "#by-service ResourceTable")
        assert "prod" in table_text(pilot, "#by-account ResourceTable")
        before = list(services.query_one(Sparkline).data or [])
        assert len(before) == 30  # the row under the cursor (the most expensive), 30 days
        assert before[-14:] == [10.0] * 14 and before[:16] == [0.0] * 16
        # Today's partial figure is a mark of its own, not the line's last point.
        chart = app.screen.query_one(ForecastChart)
        assert chart.history[-1] == (today() - timedelta(days=1), 11.0)
        assert chart.partial == [(today(), 11.0)]

        # A sync wrote a new service: the view shows it once told, not before.
        await add_costs(db, world.org_a, account_id, [(today(), "AWS Lambda", "4.00")])
        client.app[EVENTS].publish(
            world.org_a,
            CostSynced(account_id=account_id, job_id=1, rows=29, api_calls=1, status="ok"),
        )
        await until(pilot, lambda: "AWS Lambda" in table_text(pilot, "#by-service ResourceTable"))
        services.table.focus()
        await pilot.press("G")  # Lambda, the cheapest, at the bottom
        await until(pilot, lambda: list(services.query_one(Sparkline).data or [0])[-2:] == [0, 4])
        assert app.screen.query_one(ForecastChart).partial == [(today(), 15.0)]


async def test_the_highlighted_service_gets_the_sparkline(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    account_id = await add_account(db, world.org_a)
    await two_weeks_of_costs(db, world.org_a, account_id)
    app = console_for(client, world.alice, view="costs")
    async with app.run_test(size=SIZE) as pilot:
        await open_costs(pilot, app)
        services = breakdown(app, "service")
        services.table.focus()
        assert (services.query_one(Sparkline).data or [0])[-1] == 10.0
        await pilot.press("j")
        await until(pilot, lambda: (services.query_one(Sparkline).data or [0])[-1] == 1.0)
        label = str(services.query_one(".daily-label").render())
        assert "Amazon S3" in label


async def test_sync_is_for_admins_and_starts_a_job(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    await add_account(db, world.org_a)
    viewer = console_for(client, world.bob, view="costs")
    async with viewer.run_test(size=SIZE) as pilot:
        screen = await open_costs_empty(pilot, viewer)
        assert screen.check_action("sync", ()) is False
    admin = console_for(client, world.alice, view="costs")
    async with admin.run_test(size=SIZE) as pilot:
        screen = await open_costs_empty(pilot, admin)
        assert screen.check_action("sync", ()) is True
        await pilot.press("y")
        await until(
            pilot, lambda: any("Cost sync started" in str(n.message) for n in admin._notifications)
        )
    jobs = await client.get("/api/v1/jobs?kind=cost_sync", headers=world.alice.headers)
    assert (await jobs.json())["total"] == 1


async def open_costs_empty(pilot: Pilot[None], app: UpmetrApp) -> CostsScreen:
    await until(pilot, lambda: isinstance(app.screen, CostsScreen))
    screen = app.screen
    assert isinstance(screen, CostsScreen)
    await until(pilot, lambda: screen.summary is not None and app.connection == "live")
    return screen


async def test_budgets_show_spent_against_limit_and_follow_a_sync(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    account_id = await add_account(db, world.org_a)
    await add_costs(db, world.org_a, account_id, [(today(), "Amazon EC2", "50.00")])
    await create(client, world, name="ec2 monthly", amount="100.00", service="Amazon EC2")
    app = console_for(client, world.bob, view="budgets")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "ec2 monthly" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        assert isinstance(app.screen, BudgetsScreen)
        assert "50%" in table_text(pilot) and "Amazon EC2" in table_text(pilot)
        await add_costs(db, world.org_a, account_id, [(today(), "AWS Lambda", "1.00")])
        await add_costs(
            db, world.org_a, account_id, [(today() - timedelta(days=40), "Amazon EC2", "1.00")]
        )
        async with db.begin():  # the sync re-read today's EC2 figure
            await db.execute(
                update(CostDaily)
                .where(CostDaily.service == "Amazon EC2", CostDaily.day == today())
                .values(amount_micros=120_000_000)
            )
        client.app[EVENTS].publish(
            world.org_a,
            CostSynced(account_id=account_id, job_id=1, rows=1, api_calls=1, status="ok"),
        )
        await until(pilot, lambda: "▲ exceeded" in table_text(pilot))
        assert "120%" in table_text(pilot)
        assert app.screen.table.border_title == "budgets (1): 1 exceeded"


def test_the_bar_reads_without_colour() -> None:
    assert bar(50, 80, "").plain == "██████████" + "░" * 6 + "│" + "░" * 3 + " "
    assert bar(120, 80, "").plain == "█" * 20 + "▶"
    assert bar(0.1, 80, "").plain.startswith("█░")
