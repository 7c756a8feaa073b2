"""Reading costs over HTTP: summary, by service, by account, daily series, forecast, tenancy.

Cost rows are inserted directly; the day totals the reads use follow them (triggers).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.cloud_accounts.models import CloudAccount
from server.context import KEYS
from server.costs.models import MICROS, CostAccountDay, CostDaily, CostServiceDay, CostSync
from tests.conftest import World

COSTS = "/api/v1/costs"
KEY_PAIR = {"access_key_id": "AKIAUPMETRTESTKEY01", "secret_access_key": "upmetr-test-secret"}


async def add_account(client: TestClient, db: AsyncSession, org_id: int, name: str) -> CloudAccount:
    account = CloudAccount(
        org_id=org_id, name=name, provider="aws", auth_method="keys",
        credentials=client.app[KEYS].encrypt(json.dumps(KEY_PAIR)),
        credentials_hint="****EY01", default_region="us-east-1", regions=["us-east-1"],
        status="ok",
    )  # fmt: skip
    async with db.begin():
        db.add(account)
    return account


async def add_costs(
    db: AsyncSession, account: CloudAccount, costs: dict[tuple[date, str], str]
) -> None:
    """(day, service) -> amount in dollars, for one account."""
    async with db.begin():
        db.add_all(
            CostDaily(
                org_id=account.org_id,
                account_id=account.id,
                day=day,
                service=service,
                amount_micros=int(Decimal(amount) * MICROS),
            )
            for (day, service), amount in costs.items()
        )


async def get(client: TestClient, world: World, path: str, **params: Any) -> Any:
    response = await client.get(f"{COSTS}{path}", params=params, headers=world.bob.headers)
    assert response.status == 200, await response.text()
    return await response.json()


def today() -> date:
    return datetime.now(UTC).date()


async def two_accounts(
    client: TestClient, db: AsyncSession, world: World
) -> tuple[CloudAccount, CloudAccount]:
    """January 2026 (10 days, 1-10) and the 10 days before it, in two accounts."""
    production = await add_account(client, db, world.org_a, "production")
    staging = await add_account(client, db, world.org_a, "staging")
    january = [date(2026, 1, day) for day in range(1, 11)]
    before = [date(2025, 12, day) for day in range(22, 32)]
    await add_costs(db, production, {
        **{(day, "Amazon EC2"): "6" for day in january},  # 60 now
        **{(day, "Amazon EC2"): "4" for day in before},  # 40 before: +50%
        **{(day, "Amazon S3"): "1" for day in january},  # 10 now, none before
        **{(day, "AWS Lambda"): "2" for day in before},  # only before: not listed
    })  # fmt: skip
    await add_costs(db, staging, {
        **{(day, "Amazon EC2"): "2" for day in january},  # 20 now
        **{(day, "Amazon EC2"): "4" for day in before},  # 40 before: -50%
    })  # fmt: skip
    return production, staging


JANUARY = {"start": "2026-01-01", "end": "2026-01-10"}


async def test_by_service_sums_each_service_with_its_share_and_change_vs_the_period_before(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await two_accounts(client, db, world)

    services = await get(client, world, "/by-service", **JANUARY)

    assert services == [
        {"service": "Amazon EC2", "amount": "80.00", "share_pct": 88.89, "change_pct": 0.0},
        {"service": "Amazon S3", "amount": "10.00", "share_pct": 11.11, "change_pct": None},
    ]


async def test_by_service_of_one_account_compares_that_account_only(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    _, staging = await two_accounts(client, db, world)

    services = await get(client, world, "/by-service", account_id=staging.id, **JANUARY)

    assert services == [
        {"service": "Amazon EC2", "amount": "20.00", "share_pct": 100.0, "change_pct": -50.0},
    ]


async def test_by_account_names_each_account_with_its_share_and_change(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production, staging = await two_accounts(client, db, world)

    accounts = await get(client, world, "/by-account", **JANUARY)

    assert accounts == [
        {"account_id": production.id, "name": "production", "amount": "70.00",
         "share_pct": 77.78, "change_pct": 16.67},
        {"account_id": staging.id, "name": "staging", "amount": "20.00",
         "share_pct": 22.22, "change_pct": -50.0},
    ]  # fmt: skip


async def test_daily_series_have_one_amount_per_day_with_zeros_where_nothing_was_spent(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await two_accounts(client, db, world)

    daily = await get(client, world, "/daily", start="2025-12-30", end="2026-01-02")

    assert daily["group_by"] == "service" and daily["currency"] == "USD"
    assert daily["days"] == ["2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02"]
    assert daily["series"] == [
        {"key": "Amazon EC2", "label": "Amazon EC2",
         "amounts": ["8.00", "8.00", "8.00", "8.00"], "total": "32.00"},
        {"key": "AWS Lambda", "label": "AWS Lambda",
         "amounts": ["2.00", "2.00", "0.00", "0.00"], "total": "4.00"},
        {"key": "Amazon S3", "label": "Amazon S3",
         "amounts": ["0.00", "0.00", "1.00", "1.00"], "total": "2.00"},
    ]  # fmt: skip


async def test_daily_series_by_account_are_labelled_with_the_account_names(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production, staging = await two_accounts(client, db, world)

    daily = await get(client, world, "/daily", group_by="account", start="2026-01-10",
                      end="2026-01-11")  # fmt: skip

    assert daily["series"] == [
        {"key": str(production.id), "label": "production", "amounts": ["7.00", "0.00"],
         "total": "7.00"},
        {"key": str(staging.id), "label": "staging", "amounts": ["2.00", "0.00"],
         "total": "2.00"},
    ]  # fmt: skip


async def test_daily_series_of_one_account_by_service(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    _, staging = await two_accounts(client, db, world)

    daily = await get(client, world, "/daily", account_id=staging.id, start="2026-01-01",
                      end="2026-01-01")  # fmt: skip

    assert daily["series"] == [
        {"key": "Amazon EC2", "label": "Amazon EC2", "amounts": ["2.00"], "total": "2.00"},
    ]


async def test_daily_amounts_round_half_up_to_cents_and_show_credits_as_negative(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    first, second, third = date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)
    await add_costs(db, production, {
        (first, "Amazon EC2"): "0.005", (second, "Amazon EC2"): "0.004999",
        (third, "Amazon EC2"): "1234.565",
        (first, "Credits"): "-0.004999", (second, "Credits"): "-0.005",
        (third, "Credits"): "-10.994999",
    })  # fmt: skip

    daily = await get(client, world, "/daily", start="2026-02-01", end="2026-02-04")

    assert daily["series"] == [
        {"key": "Amazon EC2", "label": "Amazon EC2",
         "amounts": ["0.01", "0.00", "1234.57", "0.00"], "total": "1234.57"},
        {"key": "Credits", "label": "Credits",
         "amounts": ["0.00", "-0.01", "-10.99", "0.00"], "total": "-11.00"},
    ]  # fmt: skip


async def test_daily_series_of_one_account_sum_its_linked_accounts_per_day(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    async with db.begin():
        db.add_all(
            CostDaily(org_id=world.org_a, account_id=production.id, day=date(2026, 2, 2),
                      service="Amazon EC2", linked_account=linked, amount_micros=micros)
            for linked, micros in (("", 1_004_000), ("111111111111", 2_002_000))
        )  # fmt: skip

    daily = await get(client, world, "/daily", account_id=production.id, start="2026-02-01",
                      end="2026-02-02")  # fmt: skip

    assert daily["series"] == [
        {"key": "Amazon EC2", "label": "Amazon EC2", "amounts": ["0.00", "3.01"], "total": "3.01"},
    ]


async def test_summary_shows_this_month_last_month_and_the_average_per_day(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    now = today()
    month_start = now.replace(day=1)
    last_month = (month_start - timedelta(days=1)).replace(day=1)
    await add_costs(db, production, {
        (month_start, "Amazon EC2"): "30", (now, "Amazon S3"): "1.5",
        (last_month, "Amazon EC2"): "100", (last_month - timedelta(days=1), "Amazon EC2"): "7",
    })  # fmt: skip

    summary = await get(client, world, "/summary")

    current = Decimal("31.50")
    assert Decimal(summary["current_month"]) == current
    assert Decimal(summary["previous_month"]) == Decimal("100.00")
    # The average is of complete days (before today): the 1st's 30 over them; none on the 1st.
    if now.day == 1:
        assert summary["daily_average"] is None
    else:
        assert Decimal(summary["daily_average"]) == (30 / Decimal(now.day - 1)).quantize(
            Decimal("0.01")
        )
    assert summary["currency"] == "USD" and summary["last_synced_at"] is None


async def test_the_summary_of_one_account_leaves_the_others_out(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    staging = await add_account(client, db, world.org_a, "staging")
    month_start = today().replace(day=1)
    await add_costs(db, production, {(month_start, "Amazon EC2"): "30"})
    await add_costs(db, staging, {(month_start, "Amazon EC2"): "5"})

    summary = await get(client, world, "/summary", account_id=staging.id)

    assert Decimal(summary["current_month"]) == Decimal("5.00")


async def test_the_month_end_forecast_adds_the_rest_of_the_month_to_the_month_to_date(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    now = today()
    # 8 weeks of $10 a day up to yesterday: a flat history forecasts $10 a day.
    await add_costs(
        db, production,
        {(now - timedelta(days=back), "Amazon EC2"): "10" for back in range(1, 57)},
    )  # fmt: skip

    summary = await get(client, world, "/summary")

    month_end = (now.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    complete_days = now.day - 1
    rest = (month_end - now).days + 1
    expected = Decimal(10 * (complete_days + rest))
    assert abs(Decimal(summary["forecast_month_end"]) - expected) <= Decimal("0.10") * rest


async def test_the_summary_forecast_is_null_below_seven_days_of_history(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    await add_costs(db, production, {(today() - timedelta(days=2), "Amazon EC2"): "3"})

    summary = await get(client, world, "/summary")

    assert summary["forecast_month_end"] is None


async def test_last_synced_at_is_the_latest_successful_sync(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    synced_at = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    async with db.begin():
        db.add_all([
            CostSync(org_id=world.org_a, account_id=production.id, status="succeeded",
                     start_day=date(2025, 12, 1), end_day=date(2026, 1, 5),
                     started_at=synced_at, finished_at=synced_at),
            CostSync(org_id=world.org_a, account_id=production.id, status="failed",
                     start_day=date(2025, 12, 1), end_day=date(2026, 1, 6),
                     started_at=synced_at, finished_at=synced_at + timedelta(days=1)),
        ])  # fmt: skip

    summary = await get(client, world, "/summary")

    assert summary["last_synced_at"] == "2026-01-05T06:00:00Z"


async def test_forecast_says_not_enough_data_below_seven_days(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    await add_costs(db, production, {
        (today() - timedelta(days=back), "Amazon EC2"): "5" for back in range(1, 7)
    })  # fmt: skip

    forecast = await get(client, world, "/forecast")

    assert forecast["method"] == "not_enough_data" and forecast["history_days"] == 6
    assert forecast["points"] == [] and forecast["total"] is None
    assert forecast["interval_pct"] == 80


async def test_forecast_uses_a_run_rate_on_short_history_and_the_seasonal_method_on_longer(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    await add_costs(db, production, {
        (today() - timedelta(days=back), "Amazon EC2"): "5" for back in range(1, 15)
    })  # fmt: skip

    short = await get(client, world, "/forecast", days=30)

    assert short["method"] == "run_rate" and short["history_days"] == 14
    assert len(short["points"]) == 30
    assert short["points"][0]["date"] == today().isoformat()
    assert Decimal(short["total"]) == Decimal("150.00")

    await add_costs(db, production, {
        (today() - timedelta(days=back), "Amazon EC2"): "5" for back in range(15, 61)
    })  # fmt: skip
    long = await get(client, world, "/forecast", days=90)

    assert long["method"] == "seasonal" and long["history_days"] == 60
    assert len(long["points"]) == 90
    point = long["points"][0]
    assert Decimal(point["lower"]) <= Decimal(point["mean"]) <= Decimal(point["upper"])
    assert Decimal(long["total_lower"]) <= Decimal(long["total"]) <= Decimal(long["total_upper"])


async def test_forecast_days_other_than_30_or_90_are_refused(
    client: TestClient, world: World
) -> None:
    response = await client.get(f"{COSTS}/forecast?days=45", headers=world.bob.headers)
    assert response.status == 400
    assert "days" in (await response.json())["detail"]


async def test_a_range_starting_after_its_end_is_refused_naming_start(
    client: TestClient, world: World
) -> None:
    for path in ("/by-service", "/by-account", "/daily"):
        response = await client.get(
            f"{COSTS}{path}?start=2026-02-01&end=2026-01-01", headers=world.bob.headers
        )
        assert response.status == 400
        assert "start" in (await response.json())["detail"]


async def test_a_range_longer_than_two_years_is_refused(client: TestClient, world: World) -> None:
    response = await client.get(
        f"{COSTS}/daily?start=2023-01-01&end=2026-01-01", headers=world.bob.headers
    )
    assert response.status == 400
    assert "731 days" in (await response.json())["detail"]


async def test_another_organizations_account_is_not_found(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production, _ = await two_accounts(client, db, world)
    for path in ("/summary", "/by-service", "/daily", "/forecast"):
        response = await client.get(
            f"{COSTS}{path}?account_id={production.id}", headers=world.carol.headers
        )
        assert response.status == 404, path


async def test_carol_sees_none_of_another_organizations_costs(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await two_accounts(client, db, world)
    headers = world.carol.headers

    for path in ("/by-service", "/by-account"):
        response = await client.get(f"{COSTS}{path}?start=2026-01-01&end=2026-01-10",
                                    headers=headers)  # fmt: skip
        assert await response.json() == []
    response = await client.get(f"{COSTS}/daily?start=2026-01-01&end=2026-01-10", headers=headers)
    assert (await response.json())["series"] == []


async def test_a_deleted_account_takes_its_costs_out_of_the_organizations_totals(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production, staging = await two_accounts(client, db, world)
    async with db.begin():
        await db.execute(delete(CloudAccount).where(CloudAccount.id == staging.id))

    services = await get(client, world, "/by-service", **JANUARY)

    assert [(s["service"], s["amount"]) for s in services] == [
        ("Amazon EC2", "60.00"),
        ("Amazon S3", "10.00"),
    ]
    async with db.begin():
        left = (await db.scalars(select(CostAccountDay.account_id).distinct())).all()
        assert left == [production.id]


async def test_day_totals_follow_updates_and_deletes_of_daily_rows(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    day = date(2026, 1, 1)
    await add_costs(db, production, {(day, "Amazon EC2"): "3", (day, "Amazon S3"): "2"})
    async with db.begin():
        row = await db.scalar(select(CostDaily).where(CostDaily.service == "Amazon EC2"))
        assert row is not None
        row.amount_micros = 4 * MICROS
    async with db.begin():
        await db.execute(delete(CostDaily).where(CostDaily.service == "Amazon S3"))

    async with db.begin():
        accounts = (await db.execute(select(CostAccountDay.amount_micros))).scalars().all()
        services = (await db.execute(select(CostServiceDay.service))).scalars().all()
    assert accounts == [4 * MICROS]
    assert services == ["Amazon EC2"]  # S3's total went with its last row
