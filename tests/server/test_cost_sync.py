"""Cost sync against moto's Cost Explorer: pages, rows, calls counted, re-reads, jobs, events."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import httpx
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.budgets.models import Budget
from server.cloud_accounts.models import CloudAccount
from server.context import EVENTS, KEYS, SESSIONS, SETTINGS
from server.costs.models import MICROS, CostDaily, CostSync
from server.costs.sync import sync_window
from server.engines.cost_sync import CostSyncEngine
from server.events.bus import EVENT_BUS
from server.incidents.models import Incident
from server.jobs.models import Job
from tests.aws import enforce_iam
from tests.conftest import World

COSTS = "/api/v1/costs"
KEY_PAIR = {"access_key_id": "AKIAUPMETRTESTKEY01", "secret_access_key": "upmetr-test-secret"}


async def add_account(
    client: TestClient,
    db: AsyncSession,
    org_id: int,
    name: str = "production",
    credentials: dict[str, str] | None = None,
) -> CloudAccount:
    """A saved AWS account with credentials sealed by the server's own key."""
    account = CloudAccount(
        org_id=org_id, name=name, provider="aws", auth_method="keys",
        credentials=client.app[KEYS].encrypt(json.dumps(credentials or KEY_PAIR)),
        credentials_hint="****EY01", default_region="us-east-1", regions=["us-east-1"],
        status="ok",
    )  # fmt: skip
    async with db.begin():
        db.add(account)
    return account


def day_result(day: date, groups: dict[Any, str], *, estimated: bool = False) -> dict[str, Any]:
    """One day of a GetCostAndUsage answer; `groups` maps keys (a service, or a tuple of
    linked account and service) to amounts."""
    return {
        "TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()},
        "Total": {},
        "Groups": [
            {
                "Keys": list(key) if isinstance(key, tuple) else [key],
                "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}},
            }
            for key, amount in groups.items()
        ],
        "Estimated": estimated,
    }


def queue_pages(endpoint: str, *pages: list[dict[str, Any]]) -> None:
    """moto answers successive get_cost_and_usage calls (with different parameters, e.g.
    a new NextPageToken) with these pages in turn; every page but the last has a token."""
    results = []
    for number, page in enumerate(pages, start=1):
        result: dict[str, Any] = {"ResultsByTime": page, "DimensionValueAttributes": []}
        if number < len(pages):
            result["NextPageToken"] = f"page-{number + 1}"
        results.append(result)
    response = httpx.post(
        f"{endpoint}/moto-api/static/ce/cost-and-usage-results",
        json={"results": results},
        timeout=10,
    )
    assert response.status_code == 201


async def wait_for_job(
    client: TestClient,
    world: World,
    job_id: int,
) -> dict[str, Any]:
    for _ in range(300):
        response = await client.get(f"/api/v1/jobs/{job_id}", headers=world.alice.headers)
        assert response.status == 200, await response.text()
        job: dict[str, Any] = await response.json()
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


async def sync(client: TestClient, world: World) -> dict[str, Any]:
    response = await client.post(f"{COSTS}/sync", headers=world.alice.headers)
    assert response.status == 202, await response.text()
    return await wait_for_job(client, world, (await response.json())["job_id"])


async def rows_of(db: AsyncSession, account_id: int) -> dict[tuple[date, str, str], Any]:
    """(day, service, linked account) -> (micros, estimated) of the account's stored rows."""
    found = await db.scalars(select(CostDaily).where(CostDaily.account_id == account_id))
    rows = {
        (row.day, row.service, row.linked_account): (row.amount_micros, row.estimated)
        for row in found
    }
    await db.rollback()  # the next read sees what the server wrote since
    return rows


def recent_days() -> tuple[date, date]:
    """Two days inside the sync window (yesterday and the day before)."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=2), today - timedelta(days=1)


async def test_sync_follows_next_page_token_counts_calls_and_stores_daily_rows(
    client: TestClient,
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    account = await add_account(client, db, world.org_a)
    first, second = recent_days()
    queue_pages(
        aws,
        [day_result(first, {"Amazon EC2": "12.5", "Amazon S3": "0.4"})],
        [day_result(second, {"Amazon EC2": "13.25"}, estimated=True)],
        [day_result(second, {"AWS Lambda": "0.000001"}, estimated=True)],
    )

    job = await sync(client, world)

    assert job["status"] == "succeeded", job
    assert job["result"] == {
        "accounts": 1, "succeeded": 1, "failed": 0, "rows": 4, "api_calls": 3,
    }  # fmt: skip
    rows = await rows_of(db, account.id)
    assert rows == {
        (first, "Amazon EC2", ""): (12_500_000, False),
        (first, "Amazon S3", ""): (400_000, False),
        (second, "Amazon EC2", ""): (13_250_000, True),
        (second, "AWS Lambda", ""): (1, True),
    }


async def test_get_sync_shows_each_accounts_last_sync_with_its_calls_and_their_cost(
    client: TestClient,
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    account = await add_account(client, db, world.org_a)
    first, second = recent_days()
    queue_pages(aws, [day_result(first, {"Amazon EC2": "1"})], [day_result(second, {})])

    await sync(client, world)
    response = await client.get(f"{COSTS}/sync", headers=world.bob.headers)

    assert response.status == 200
    [last] = await response.json()
    start, end = sync_window(datetime.now(UTC).date())
    assert last["account_id"] == account.id and last["account_name"] == "production"
    assert last["status"] == "succeeded" and last["rows"] == 1
    assert last["api_calls"] == 2 and Decimal(last["api_cost"]) == Decimal("0.02")
    assert (last["start_day"], last["end_day"]) == (start.isoformat(), end.isoformat())
    assert last["finished_at"].endswith("Z") and last["detail"] is None
    # The record tells when the calls began and when they ended, and the summary's last
    # sync is that end.
    started_at, finished_at = (
        datetime.fromisoformat(last[k]) for k in ("started_at", "finished_at")
    )
    assert started_at < finished_at
    summary = await client.get(f"{COSTS}/summary", headers=world.bob.headers)
    assert datetime.fromisoformat((await summary.json())["last_synced_at"]) == finished_at


async def test_the_window_is_the_previous_month_and_this_month_to_date() -> None:
    assert sync_window(date(2026, 3, 15)) == (date(2026, 2, 1), date(2026, 3, 15))
    assert sync_window(date(2026, 1, 1)) == (date(2025, 12, 1), date(2026, 1, 1))


async def test_a_resync_replaces_estimates_and_drops_rows_cost_explorer_no_longer_returns(
    client: TestClient,
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    account = await add_account(client, db, world.org_a)
    first, second = recent_days()
    old_day = sync_window(datetime.now(UTC).date())[0] - timedelta(days=3)
    async with db.begin():
        db.add(CostDaily(
            org_id=world.org_a, account_id=account.id, day=old_day, service="Amazon EC2",
            amount_micros=5 * MICROS,
        ))  # fmt: skip
    queue_pages(
        aws,
        [day_result(first, {"Amazon EC2": "10", "Amazon S3": "1"}, estimated=True)],
    )
    await sync(client, world)
    # moto repeats an answer for the same parameters: start again with the new figures.
    httpx.post(f"{aws}/moto-api/reset", timeout=10).raise_for_status()
    queue_pages(aws, [day_result(first, {"Amazon EC2": "11"}), day_result(second, {})])

    job = await sync(client, world)

    assert job["status"] == "succeeded"
    rows = await rows_of(db, account.id)
    assert rows == {
        (old_day, "Amazon EC2", ""): (5 * MICROS, False),  # outside the window: kept
        (first, "Amazon EC2", ""): (11 * MICROS, False),
    }
    syncs = (await db.scalars(select(CostSync).order_by(CostSync.id))).all()
    assert [(s.status, s.rows, s.api_calls) for s in syncs] == [
        ("succeeded", 2, 1),
        ("succeeded", 1, 1),
    ]


async def test_a_payer_account_stores_costs_per_linked_account_and_service(
    client: TestClient,
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    organizations = boto3.client("organizations", endpoint_url=aws, region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    account = await add_account(client, db, world.org_a)
    first, _ = recent_days()
    queue_pages(
        aws,
        [day_result(first, {
            ("111111111111", "Amazon EC2"): "3", ("222222222222", "Amazon EC2"): "4",
        })],
    )  # fmt: skip

    await sync(client, world)

    rows = await rows_of(db, account.id)
    assert rows == {
        (first, "Amazon EC2", "111111111111"): (3 * MICROS, False),
        (first, "Amazon EC2", "222222222222"): (4 * MICROS, False),
    }


async def test_a_refused_sync_records_the_reason_and_fails_the_job(
    client: TestClient,
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    await add_account(
        client, db, world.org_a,
        credentials={"access_key_id": "AKIAUNKNOWNKEY000000", "secret_access_key": "nope"},
    )  # fmt: skip
    enforce_iam(aws)

    job = await sync(client, world)

    assert job["status"] == "failed"
    response = await client.get(f"{COSTS}/sync", headers=world.alice.headers)
    [last] = await response.json()
    assert last["status"] == "failed" and last["rows"] == 0
    assert "access key ID is not valid" in last["detail"]


async def test_each_account_is_synced_and_announced_as_cost_synced(
    client: TestClient,
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    production = await add_account(client, db, world.org_a, "production")
    staging = await add_account(client, db, world.org_a, "staging")
    first, _ = recent_days()
    # Both accounts send the same parameters with the same keys: moto answers both alike.
    queue_pages(aws, [day_result(first, {"Amazon EC2": "2"})])

    subscription = client.app[EVENT_BUS].subscribe(world.org_a, after=None)

    job = await sync(client, world)

    events: list[Any] = []
    while (event := await asyncio.wait_for(subscription.next(), 1)) is not None:
        events.append((event.type, json.loads(event.data_json)))
        if event.type == "job.updated" and events[-1][1]["status"] == "succeeded":
            break
    subscription.close()
    synced = [data for kind, data in events if kind == "cost.synced"]
    assert synced == [
        {"account_id": account.id, "job_id": job["id"], "rows": 1, "api_calls": 1,
         "status": "succeeded"}
        for account in (production, staging)
    ]  # fmt: skip


async def test_a_sync_evaluates_budgets_and_opens_an_exceeded_incident(
    client: TestClient,
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    await add_account(client, db, world.org_a)
    async with db.begin():
        db.add(Budget(
            org_id=world.org_a, name="tiny", amount_micros=1 * MICROS, currency="USD",
            period="monthly", alert_threshold_pct=80,
        ))  # fmt: skip
    today = datetime.now(UTC).date()
    queue_pages(aws, [day_result(today, {"Amazon EC2": "5"})])

    await sync(client, world)

    incidents = (await db.scalars(select(Incident).where(Incident.org_id == world.org_a))).all()
    assert "budget_exceeded" in {incident.trigger_type for incident in incidents}


async def test_viewer_cannot_request_a_sync(
    client: TestClient,
    db: AsyncSession,
    world: World,
) -> None:
    await add_account(client, db, world.org_a)
    response = await client.post(f"{COSTS}/sync", headers=world.bob.headers)
    assert response.status == 403


async def test_an_organization_without_aws_accounts_has_nothing_to_sync(
    client: TestClient,
    world: World,
) -> None:
    response = await client.post(f"{COSTS}/sync", headers=world.alice.headers)
    assert response.status == 409
    assert "AWS" in (await response.json())["detail"]


async def test_asking_twice_while_queued_answers_the_same_job(
    client: TestClient,
    db: AsyncSession,
    world: World,
) -> None:
    await add_account(client, db, world.org_a)
    async with db.begin():
        db.add(Job(org_id=world.org_a, kind="cost_sync", status="running",
                   claimed_until=datetime.now(UTC) + timedelta(hours=1)))  # fmt: skip
    first = await client.post(f"{COSTS}/sync", headers=world.alice.headers)
    second = await client.post(f"{COSTS}/sync", headers=world.alice.headers)
    assert (await first.json())["job_id"] == (await second.json())["job_id"]


async def test_carol_sees_no_sync_of_another_organization(
    client: TestClient,
    db: AsyncSession,
    world: World,
    aws: str,
) -> None:
    await add_account(client, db, world.org_a)
    first, _ = recent_days()
    queue_pages(aws, [day_result(first, {"Amazon EC2": "2"})])
    await sync(client, world)

    response = await client.get(f"{COSTS}/sync", headers=world.carol.headers)

    assert response.status == 200 and await response.json() == []


async def test_the_daily_schedule_queues_one_sync_per_organization_with_aws_accounts(
    client: TestClient,
    db: AsyncSession,
    world: World,
) -> None:
    await add_account(client, db, world.org_a, "production")
    await add_account(client, db, world.org_a, "staging")
    app = client.app
    engine = CostSyncEngine(app[SESSIONS], app[EVENTS], app[SETTINGS], app[KEYS], schedule=True)
    now = datetime.now(UTC)

    assert await engine.queue_due(now=now) == 1
    assert await engine.queue_due(now=now) == 0  # queued already
    async with db.begin():
        job = await db.scalar(select(Job).where(Job.kind == "cost_sync"))
        assert job is not None and job.org_id == world.org_a and job.account_id is None
        job.status, job.created_at = "succeeded", now - timedelta(hours=25)
    assert await engine.queue_due(now=now) == 1  # a day later


async def test_a_requested_sync_is_audited_with_its_job(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await add_account(client, db, world.org_a)
    async with db.begin():
        db.add(Job(org_id=world.org_a, kind="cost_sync", status="running",
                   claimed_until=datetime.now(UTC) + timedelta(hours=1)))  # fmt: skip
    await client.post(f"{COSTS}/sync", headers=world.alice.headers)  # answered by that job
    async with db.begin():
        await db.execute(delete(Job))

    response = await client.post(f"{COSTS}/sync", headers=world.alice.headers)

    job_id = (await response.json())["job_id"]
    entries = (
        await db.scalars(select(AuditLog).where(AuditLog.action == "costs.sync_requested"))
    ).all()
    assert [(e.user_email, e.resource_id) for e in entries] == [(world.alice.email, str(job_id))]
