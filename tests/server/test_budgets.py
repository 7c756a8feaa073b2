"""Budgets over HTTP and in the service: CRUD, validation, roles, tenancy, period status
figures on arranged cost rows, and the incidents an evaluation opens and resolves."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.budgets import service as budgets
from server.budgets.models import Budget
from server.budgets.status import window
from server.cloud_accounts.models import CloudAccount
from server.costs.models import MICROS, CostDaily
from server.events.bus import EVENT_BUS
from server.incidents.models import Incident
from server.service_context import Context
from tests.conftest import World

BUDGETS = "/api/v1/budgets"
MONTHLY = {"name": "AWS total", "amount": "1000.00", "period": "monthly"}
# A fixed clock for figures: 10 May 2024, day 10 of 31, of 61 in Q2, of 131 in 2024 (leap).
NOW = datetime(2024, 5, 10, 15, 30, tzinfo=UTC)


async def add_account(db: AsyncSession, org_id: int, name: str = "prod") -> int:
    async with db.begin():
        account = CloudAccount(
            org_id=org_id, name=name, provider="aws", auth_method="keys",
            credentials="x", credentials_hint="****abcd", default_region="us-east-1",
        )  # fmt: skip
        db.add(account)
        await db.flush()
        return account.id


async def add_costs(
    db: AsyncSession, org_id: int, account_id: int, rows: list[tuple[date, str, str]]
) -> None:
    """Cost rows (day, service, amount as a decimal string), written straight to the table."""
    async with db.begin():
        for day, service, amount in rows:
            db.add(
                CostDaily(
                    org_id=org_id, account_id=account_id, day=day, service=service,
                    amount_micros=int(Decimal(amount) * MICROS),
                )
            )  # fmt: skip


async def create(client: TestClient, world: World, **changes: Any) -> dict[str, Any]:
    response = await client.post(BUDGETS, json={**MONTHLY, **changes}, headers=world.alice.headers)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def get(client: TestClient, world: World, path: str) -> Any:
    response = await client.get(f"{BUDGETS}{path}", headers=world.alice.headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def status_at(db: AsyncSession, org_id: int, budget_id: int, now: datetime) -> Any:
    async with db.begin():
        return await budgets.status(db, org_id=org_id, budget_id=budget_id, now=now)


async def evaluate(db: AsyncSession, org_id: int, now: datetime | None = None) -> None:
    async with db.begin():
        await budgets.evaluate(Context(db=db), org_id=org_id, now=now or datetime.now(UTC))


async def budget_incidents(db: AsyncSession, budget_id: int) -> list[tuple[str, str, str]]:
    """(trigger type, severity, status) of the budget's incidents, oldest first."""
    async with db.begin():
        rows = await db.execute(
            select(Incident.trigger_type, Incident.severity, Incident.status)
            .where(Incident.target_type == "budget", Incident.target_id == budget_id)
            .order_by(Incident.id)
        )
        return [(row[0], row[1], row[2]) for row in rows.all()]


# CRUD


async def test_admin_creates_lists_reads_changes_and_deletes_a_budget(
    client: TestClient, world: World
) -> None:
    created = await create(client, world, alert_threshold_pct=75, service="Amazon EC2")
    assert created["amount"] == "1000.00" and created["currency"] == "USD"
    assert (created["period"], created["alert_threshold_pct"]) == ("monthly", 75)
    assert (created["account_id"], created["service"]) == (None, "Amazon EC2")
    assert created["state"] == "ok" and created["evaluated_at"].endswith("Z")
    listed = await get(client, world, "")
    assert (listed["total"], [item["id"] for item in listed["items"]]) == (1, [created["id"]])
    assert await get(client, world, f"/{created['id']}") == created

    response = await client.patch(
        f"{BUDGETS}/{created['id']}",
        json={"amount": "2500.50", "period": "quarterly", "service": None},
        headers=world.alice.headers,
    )
    assert response.status == 200, await response.text()
    changed = await response.json()
    assert (changed["amount"], changed["period"], changed["service"]) == (
        "2500.50",
        "quarterly",
        None,
    )
    response = await client.delete(f"{BUDGETS}/{created['id']}", headers=world.alice.headers)
    assert response.status == 204
    response = await client.get(f"{BUDGETS}/{created['id']}", headers=world.alice.headers)
    assert response.status == 404


async def test_budget_changes_are_audited(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = await create(client, world)
    await client.patch(
        f"{BUDGETS}/{created['id']}", json={"amount": "10"}, headers=world.alice.headers
    )
    await client.delete(f"{BUDGETS}/{created['id']}", headers=world.alice.headers)
    async with db.begin():
        actions = list(
            await db.scalars(
                select(AuditLog.action)
                .where(AuditLog.action.like("budget.%"))
                .order_by(AuditLog.id)
            )
        )
    assert actions == ["budget.created", "budget.updated", "budget.deleted"]


async def test_budget_narrowed_to_an_account_of_the_org_is_accepted(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    created = await create(client, world, account_id=account_id)
    assert created["account_id"] == account_id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"alert_threshold_pct": 0}, "alert_threshold_pct"),
        ({"alert_threshold_pct": 101}, "alert_threshold_pct"),
        ({"period": "weekly"}, "period"),
        ({"currency": "EUR"}, "currency"),
    ],
)
async def test_invalid_budget_is_a_400_naming_the_field(
    client: TestClient, world: World, changes: dict[str, Any], field: str
) -> None:
    response = await client.post(BUDGETS, json={**MONTHLY, **changes}, headers=world.alice.headers)
    assert response.status == 400
    assert field in (await response.json())["detail"]


async def test_patch_cannot_null_the_amount(client: TestClient, world: World) -> None:
    created = await create(client, world)
    response = await client.patch(
        f"{BUDGETS}/{created['id']}", json={"amount": None}, headers=world.alice.headers
    )
    assert response.status == 400
    assert "amount" in (await response.json())["detail"]


async def test_another_orgs_cloud_account_is_a_400_naming_account_id(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    carols = await add_account(db, world.org_b)
    response = await client.post(
        BUDGETS, json={**MONTHLY, "account_id": carols}, headers=world.alice.headers
    )
    assert response.status == 400
    assert "account_id" in (await response.json())["detail"]
    created = await create(client, world)
    response = await client.patch(
        f"{BUDGETS}/{created['id']}", json={"account_id": carols}, headers=world.alice.headers
    )
    assert response.status == 400


async def test_duplicate_budget_name_is_a_409(client: TestClient, world: World) -> None:
    await create(client, world)
    response = await client.post(BUDGETS, json=MONTHLY, headers=world.alice.headers)
    assert response.status == 409
    other = await create(client, world, name="Other")
    response = await client.patch(
        f"{BUDGETS}/{other['id']}", json={"name": "AWS total"}, headers=world.alice.headers
    )
    assert response.status == 409


async def test_same_budget_name_in_another_org_is_fine(client: TestClient, world: World) -> None:
    await create(client, world)
    response = await client.post(BUDGETS, json=MONTHLY, headers=world.carol.headers)
    assert response.status == 201


async def test_viewer_reads_budgets_but_cannot_change_them(
    client: TestClient, world: World
) -> None:
    created = await create(client, world)
    path = f"{BUDGETS}/{created['id']}"
    for url in (BUDGETS, path, f"{path}/status", f"{BUDGETS}/status"):
        response = await client.get(url, headers=world.bob.headers)
        assert response.status == 200, url
    response = await client.post(BUDGETS, json={**MONTHLY, "name": "B"}, headers=world.bob.headers)
    assert response.status == 403
    response = await client.patch(path, json={"amount": "1"}, headers=world.bob.headers)
    assert response.status == 403
    response = await client.delete(path, headers=world.bob.headers)
    assert response.status == 403


async def test_another_orgs_budget_is_a_404_for_carol(client: TestClient, world: World) -> None:
    created = await create(client, world)
    path = f"{BUDGETS}/{created['id']}"
    for method, url in (("GET", path), ("GET", f"{path}/status"), ("PATCH", path),
                        ("DELETE", path)):  # fmt: skip
        response = await client.request(
            method, url, json={"amount": "1"} if method == "PATCH" else None,
            headers=world.carol.headers,
        )  # fmt: skip
        assert response.status == 404, (method, url)
    listed = await client.get(BUDGETS, headers=world.carol.headers)
    assert (await listed.json())["total"] == 0
    statuses = await client.get(f"{BUDGETS}/status", headers=world.carol.headers)
    assert await statuses.json() == []


# Status figures


def test_periods_are_the_calendar_month_quarter_and_year_in_utc() -> None:
    late_in_new_york = datetime(2024, 5, 31, 21, tzinfo=timezone(timedelta(hours=-4)))
    assert window("monthly", late_in_new_york).start == date(2024, 6, 1)  # UTC's June
    month, quarter, year = (window(p, NOW) for p in ("monthly", "quarterly", "yearly"))
    # Complete days are those before today; the days left count today.
    assert (month.start, month.end, month.complete_days, month.days_left) == (
        date(2024, 5, 1), date(2024, 5, 31), 9, 22,
    )  # fmt: skip
    assert (quarter.start, quarter.end, quarter.complete_days) == (
        date(2024, 4, 1), date(2024, 6, 30), 39,
    )  # fmt: skip
    assert (year.start, year.end, year.complete_days) == (date(2024, 1, 1), date(2024, 12, 31), 130)
    december = window("quarterly", datetime(2024, 12, 31, tzinfo=UTC))
    assert (december.start, december.end, december.days_left) == (
        date(2024, 10, 1), date(2024, 12, 31), 1,
    )  # fmt: skip
    first = window("monthly", datetime(2024, 6, 1, 8, tzinfo=UTC))
    assert (first.complete_days, first.days_left) == (0, 30)


async def test_monthly_status_sums_the_month_so_far_and_projects_the_run_rate(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    rows = [(date(2024, 5, day), "Amazon EC2", "40.00") for day in range(1, 11)]
    rows += [(date(2024, 4, 30), "Amazon EC2", "999.00")]  # last month: not counted
    rows += [(date(2024, 5, 11), "Amazon EC2", "999.00")]  # after `now`: not counted
    await add_costs(db, world.org_a, account_id, rows)
    created = await create(client, world, amount="1000", alert_threshold_pct=80)
    found = await status_at(db, world.org_a, created["id"], NOW)
    # 360 in 9 complete days, 40 more today: 40 a day, 31 days project 1240, 240 over.
    assert (found.period_start, found.period_end) == (date(2024, 5, 1), date(2024, 5, 31))
    assert (found.spent, found.remaining, found.pct_used) == (
        Decimal("400.00"), Decimal("600.00"), 40.0,
    )  # fmt: skip
    assert (found.burn_rate_per_day, found.projected_total, found.projected_overage) == (
        Decimal("40.00"), Decimal("1240.00"), Decimal("240.00"),
    )  # fmt: skip
    assert found.state == "ok"


async def test_status_states_follow_the_threshold_and_100_percent(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 2), "S3", "80.00")])
    created = await create(client, world, amount="100", alert_threshold_pct=80)
    assert (await status_at(db, world.org_a, created["id"], NOW)).state == "warning"
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 3), "S3", "20.00")])
    found = await status_at(db, world.org_a, created["id"], NOW)
    assert (found.state, found.pct_used, found.remaining) == ("exceeded", 100.0, Decimal("0.00"))


async def test_status_narrows_to_the_budgets_account_and_service(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    prod = await add_account(db, world.org_a, "prod")
    dev = await add_account(db, world.org_a, "dev")
    day = date(2024, 5, 5)
    await add_costs(db, world.org_a, prod, [(day, "EC2", "10.00"), (day, "S3", "1.50")])
    await add_costs(db, world.org_a, dev, [(day, "EC2", "100.00"), (day, "S3", "20.00")])
    carols = await add_account(db, world.org_b, "carol")
    await add_costs(db, world.org_b, carols, [(day, "EC2", "5000.00")])
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "all": ({}, "131.50"),
        "prod": ({"account_id": prod}, "11.50"),
        "ec2": ({"service": "EC2"}, "110.00"),
        "prod ec2": ({"account_id": prod, "service": "EC2"}, "10.00"),
        "dev s3": ({"account_id": dev, "service": "S3"}, "20.00"),
    }
    ids = {}
    for name, (narrowing, spent) in cases.items():
        ids[name] = (await create(client, world, name=name, **narrowing))["id"]
        assert (await status_at(db, world.org_a, ids[name], NOW)).spent == Decimal(spent), name
    async with db.begin():
        every = await budgets.status_all(db, org_id=world.org_a, now=NOW)
    assert {s.name: str(s.spent) for s in every} == {n: s for n, (_, s) in cases.items()}


async def test_quarterly_and_yearly_budgets_sum_their_own_windows(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    rows = [
        (date(2023, 12, 31), "EC2", "1000.00"),  # last year
        (date(2024, 2, 15), "EC2", "100.00"),  # this year, last quarter
        (date(2024, 4, 15), "EC2", "10.00"),  # this quarter, last month
        (date(2024, 5, 1), "EC2", "1.00"),  # this month
    ]
    await add_costs(db, world.org_a, account_id, rows)
    spent = {}
    for period in ("monthly", "quarterly", "yearly"):
        created = await create(client, world, name=period, period=period, amount="1000")
        spent[period] = await status_at(db, world.org_a, created["id"], NOW)
    assert {period: s.spent for period, s in spent.items()} == {
        "monthly": Decimal("1.00"), "quarterly": Decimal("11.00"), "yearly": Decimal("111.00"),
    }  # fmt: skip
    quarter = spent["quarterly"]  # 11 over 39 complete days of 91: 52 days left, today's in
    assert (quarter.period_start, quarter.period_end) == (date(2024, 4, 1), date(2024, 6, 30))
    assert (quarter.burn_rate_per_day, quarter.projected_total) == (
        Decimal("0.28"), Decimal("25.67"),
    )  # fmt: skip
    year = spent["yearly"]
    assert (year.period_start, year.period_end) == (date(2024, 1, 1), date(2024, 12, 31))


async def test_status_over_http_counts_todays_costs(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    today = datetime.now(UTC).date()
    await add_costs(db, world.org_a, account_id, [(today, "EC2", "30.00"), (today, "S3", "6.00")])
    created = await create(client, world, amount="120.00", alert_threshold_pct=25)
    found = await get(client, world, f"/{created['id']}/status")
    current = window("monthly", datetime.now(UTC))
    # Today's partial figure is spent, but gives no rate while the month has complete days
    # (none spent); on the 1st, the rate is the week before's (nothing).
    projected = Decimal("36.00")
    assert (found["budget_id"], found["spent"], found["remaining"]) == (
        created["id"], "36.00", "84.00",
    )  # fmt: skip
    assert (found["pct_used"], found["state"]) == (30.0, "warning")
    assert found["projected_total"] == str(projected)
    assert found["period_start"] == current.start.isoformat()
    every = await get(client, world, "/status")
    assert [item["budget_id"] for item in every] == [created["id"]]


async def test_status_of_every_budget_takes_at_most_three_cost_queries(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    """One per source (account totals, service totals, an account's service rows), whatever
    the number of budgets; the organization's daily rows are only read pair by pair."""
    account_id = await add_account(db, world.org_a)
    narrowings: list[dict[str, Any]] = [
        {}, {"account_id": account_id}, {"service": "EC2"},
        {"account_id": account_id, "service": "EC2"},
    ]  # fmt: skip
    for index, period in enumerate(("monthly", "quarterly", "yearly") * 4):
        await create(client, world, name=f"b{index}", period=period, **narrowings[index % 4])
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with db.begin():
            found = await budgets.status_all(db, org_id=world.org_a, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(found) == 12
    reads = [statement for statement in statements if "FROM cost_" in statement]
    assert len(reads) == 3
    assert sum("FROM cost_daily" in statement for statement in reads) == 1


# Evaluation and incidents


async def test_evaluation_opens_a_threshold_warning_then_an_exceeded_critical_incident(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    created = await create(client, world, amount="100", alert_threshold_pct=80)
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 2), "EC2", "85.00")])
    await evaluate(db, world.org_a, NOW)
    assert await budget_incidents(db, created["id"]) == [("budget_threshold", "warning", "open")]
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 3), "EC2", "20.00")])
    await evaluate(db, world.org_a, NOW)
    assert await budget_incidents(db, created["id"]) == [
        ("budget_threshold", "warning", "open"),
        ("budget_exceeded", "critical", "open"),
    ]
    async with db.begin():
        budget = await db.get(Budget, created["id"])
        assert budget is not None and budget.state == "exceeded"
        assert budget.evaluated_at == NOW

    response = await client.get(
        "/api/v1/incidents", params={"status": "open"}, headers=world.alice.headers
    )
    items = (await response.json())["items"]
    assert sorted((i["trigger_type"], i["target_type"], i["target_id"]) for i in items) == [
        ("budget_exceeded", "budget", created["id"]),
        ("budget_threshold", "budget", created["id"]),
    ]
    exceeded = next(i for i in items if i["trigger_type"] == "budget_exceeded")
    assert "AWS total" in exceeded["title"] and "105.0%" in exceeded["title"]


async def test_re_evaluation_opens_no_duplicate_incident(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    created = await create(client, world, amount="10")
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 2), "EC2", "50.00")])
    for _ in range(3):
        await evaluate(db, world.org_a, NOW)
    assert await budget_incidents(db, created["id"]) == [
        ("budget_threshold", "warning", "open"),
        ("budget_exceeded", "critical", "open"),
    ]


async def test_raising_the_budget_resolves_its_incidents_at_once(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    today = datetime.now(UTC).date()
    await add_costs(db, world.org_a, account_id, [(today, "EC2", "90.00")])
    created = await create(client, world, amount="80", alert_threshold_pct=80)
    assert created["state"] == "exceeded"  # evaluated on create
    await evaluate(db, world.org_a)
    assert [i[2] for i in await budget_incidents(db, created["id"])] == ["open", "open"]

    response = await client.patch(
        f"{BUDGETS}/{created['id']}", json={"amount": "100"}, headers=world.alice.headers
    )
    assert (await response.json())["state"] == "warning"
    assert await budget_incidents(db, created["id"]) == [
        ("budget_threshold", "warning", "open"),
        ("budget_exceeded", "critical", "resolved"),
    ]
    response = await client.patch(
        f"{BUDGETS}/{created['id']}", json={"amount": "1000"}, headers=world.alice.headers
    )
    assert (await response.json())["state"] == "ok"
    assert [i[2] for i in await budget_incidents(db, created["id"])] == ["resolved", "resolved"]
    async with db.begin():
        resolved = await db.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.resolved_automatically.is_(True))
        )
    assert resolved == 2


async def test_a_new_period_resolves_last_periods_incidents(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    created = await create(client, world, amount="10")
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 31), "EC2", "50.00")])
    await evaluate(db, world.org_a, datetime(2024, 5, 31, 12, tzinfo=UTC))
    assert len(await budget_incidents(db, created["id"])) == 2
    await evaluate(db, world.org_a, datetime(2024, 6, 1, 0, 5, tzinfo=UTC))
    assert [i[2] for i in await budget_incidents(db, created["id"])] == ["resolved", "resolved"]
    async with db.begin():
        budget = await db.get(Budget, created["id"])
        assert budget is not None and budget.state == "ok"


async def test_a_threshold_of_100_opens_only_the_exceeded_incident(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    created = await create(client, world, amount="10", alert_threshold_pct=100)
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 2), "EC2", "10.00")])
    await evaluate(db, world.org_a, NOW)
    assert await budget_incidents(db, created["id"]) == [("budget_exceeded", "critical", "open")]


async def test_deleting_a_budget_resolves_its_open_incidents(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    created = await create(client, world, amount="10")
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 2), "EC2", "50.00")])
    await evaluate(db, world.org_a, NOW)
    response = await client.delete(f"{BUDGETS}/{created['id']}", headers=world.alice.headers)
    assert response.status == 204
    assert [i[2] for i in await budget_incidents(db, created["id"])] == ["resolved", "resolved"]


async def test_incidents_of_a_budget_gone_with_its_account_resolve_on_evaluation(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    created = await create(client, world, amount="10", account_id=account_id)
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 2), "EC2", "50.00")])
    await evaluate(db, world.org_a, NOW)
    async with db.begin():
        await db.delete(await db.get(CloudAccount, account_id))
    await evaluate(db, world.org_a, NOW)
    assert [i[2] for i in await budget_incidents(db, created["id"])] == ["resolved", "resolved"]


async def test_evaluation_leaves_other_orgs_budgets_alone(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    account_id = await add_account(db, world.org_a)
    created = await create(client, world, amount="10")
    await add_costs(db, world.org_a, account_id, [(date(2024, 5, 2), "EC2", "50.00")])
    await evaluate(db, world.org_b, NOW)
    assert await budget_incidents(db, created["id"]) == []


async def test_evaluation_keeps_updated_at_for_members_changes(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = await create(client, world)
    await evaluate(db, world.org_a, NOW + timedelta(days=1))
    found = await get(client, world, f"/{created['id']}")
    assert found["updated_at"] == created["updated_at"]
    assert found["evaluated_at"] != created["evaluated_at"]


async def test_changes_made_over_http_publish_incident_and_budget_state_events(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    bus = client.app[EVENT_BUS]
    stream = bus.subscribe(world.org_a, after=None)
    account_id = await add_account(db, world.org_a)
    await add_costs(db, world.org_a, account_id, [(datetime.now(UTC).date(), "EC2", "90.00")])
    created = await create(client, world, amount="100", alert_threshold_pct=80)
    await client.patch(
        f"{BUDGETS}/{created['id']}", json={"amount": "1000"}, headers=world.alice.headers
    )
    seen = []
    while len(seen) < 4:
        event = await asyncio.wait_for(stream.next(), timeout=2)
        assert event is not None
        if event.type == "notification.created":  # the inbox's, told apart
            continue
        data = json.loads(event.data_json)
        seen.append((event.type, data.get("state") or data.get("status")))
    assert seen == [
        ("incident.opened", "open"),
        ("budget.state", "warning"),
        ("incident.resolved", "resolved"),
        ("budget.state", "ok"),
    ]
    stream.close()
