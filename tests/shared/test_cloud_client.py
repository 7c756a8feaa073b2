"""The cloud namespaces (`cloud_accounts`, `jobs`, `resources`, `costs`, `budgets`) against a
real server on 127.0.0.1, with moto's server standing in for AWS where AWS is called.

Resources and cost rows are arranged straight in the database (discovery and Cost Explorer
have their own server tests); accounts that AWS must accept are added through the API.
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.jobs import service as jobs_service
from shared.api.jobs import JobStatus
from shared.api.resources import ResourceType
from shared.client import AsyncClient, Client, Conflict, Forbidden, NotFound
from shared.client.cloud import JobTimeout
from tests.conftest import World
from tests.shared.cloud_builders import (
    KEYS,
    add_account,
    add_costs,
    add_resource,
    add_running_job,
    this_month_so_far,
    url_of,
)


def api_for(client: TestClient, token: str) -> AsyncClient:
    return AsyncClient(url_of(client), access_token=token)


def test_sync_and_async_clients_offer_the_same_cloud_methods() -> None:
    sync_api, async_api = Client("http://host"), AsyncClient("http://host")
    methods = {
        "cloud_accounts": {"list", "get", "create", "update", "delete", "test", "test_saved",
                           "discover"},
        "jobs": {"list", "get", "wait"},
        "resources": {"list", "summary", "types", "get", "start", "stop", "reboot",
                      "bulk_action", "actions"},
        "costs": {"summary", "by_service", "by_account", "daily", "forecast", "sync", "syncs"},
        "budgets": {"list", "get", "create", "update", "delete", "status", "status_all"},
    }  # fmt: skip
    for name, expected in methods.items():
        for api in (sync_api, async_api):
            namespace = getattr(api, name)
            public = {m for m in dir(namespace) if not m.startswith("_")}
            assert public == expected, name
    assert inspect.iscoroutinefunction(async_api.jobs.wait)
    assert not inspect.iscoroutinefunction(sync_api.jobs.wait)


# Resources


async def test_resources_list_filters_sorts_and_pages_into_models(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    prod = await add_account(db, world.org_a, "Prod")
    staging = await add_account(db, world.org_a, "Staging")
    web = await add_resource(
        db, org_id=world.org_a, account_id=prod, name="web-1", tags={"env": "prod"}
    )
    await add_resource(db, org_id=world.org_a, account_id=prod, name="web-2", state="stopped")
    await add_resource(
        db, org_id=world.org_a, account_id=staging, name="assets", type="s3_bucket",
        region="eu-west-1", tags={"env": "staging"},
    )  # fmt: skip
    async with api_for(client, world.bob.access_token) as api:
        everything = await api.resources.list(sort="-name")
        assert [r.name for r in everything.items] == ["web-2", "web-1", "assets"]
        tagged = await api.resources.list(tag="env:prod")
        assert [r.id for r in tagged.items] == [web]
        assert tagged.items[0].tags == {"env": "prod"}
        buckets = await api.resources.list(type=ResourceType.s3_bucket, region="eu-west-1")
        assert [(r.name, r.account_name) for r in buckets.items] == [("assets", "Staging")]
        stopped = await api.resources.list(state="stopped", account_id=prod)
        assert [r.name for r in stopped.items] == ["web-2"]
        first = await api.resources.list(per_page=2, page=2)
        assert (first.total, first.page, len(first.items)) == (3, 2, 1)
        assert [r.name for r in (await api.resources.list(q="WEB-")).items] == ["web-1", "web-2"]


async def test_resources_summary_types_and_detail(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    prod = await add_account(db, world.org_a)
    web = await add_resource(db, org_id=world.org_a, account_id=prod, name="web", tags={"a": "b"})
    await add_resource(db, org_id=world.org_a, account_id=prod, name="fn", type="lambda_function")
    async with api_for(client, world.bob.access_token) as api:
        summary = await api.resources.summary()
        assert summary.total == 2
        assert {c.key: c.count for c in summary.by_type} == {
            "ec2_instance": 1,
            "lambda_function": 1,
        }
        assert [(a.account_id, a.count) for a in summary.by_account] == [(prod, 2)]
        types = await api.resources.types()
        assert {(t.type, t.count) for t in types} == {
            (ResourceType.ec2_instance, 1),
            (ResourceType.lambda_function, 1),
        }
        detail = await api.resources.get(web)
        assert (detail.name, detail.tags, detail.metadata) == ("web", {"a": "b"}, {"vpc": "vpc-1"})
        assert (await api.resources.actions(web)).items == []


async def test_another_organizations_resource_is_not_found_and_viewers_cannot_act(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    prod = await add_account(db, world.org_a)
    web = await add_resource(db, org_id=world.org_a, account_id=prod, name="web")
    async with api_for(client, world.carol.access_token) as carol:
        with pytest.raises(NotFound):
            await carol.resources.get(web)
        assert (await carol.resources.list()).total == 0
    async with api_for(client, world.bob.access_token) as bob:
        with pytest.raises(Forbidden):
            await bob.resources.stop(web)


async def test_stop_start_on_a_real_instance_and_unsupported_actions_conflict(
    client: TestClient,
    world: World,
    db: AsyncSession,
    aws: str,
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=aws)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    instance_id = instance["Instances"][0]["InstanceId"]
    async with api_for(client, world.alice.access_token) as api:
        account = await api.cloud_accounts.create(name="Moto", credentials=KEYS)
        web = await add_resource(
            db, org_id=world.org_a, account_id=account.id, name="web", provider_id=instance_id
        )
        bucket = await add_resource(
            db, org_id=world.org_a, account_id=account.id, name="b", type="s3_bucket",
            state="available",
        )  # fmt: skip
        stopping = await api.resources.stop(web)
        assert (stopping.resource_id, stopping.action.value) == (web, "stop")
        assert stopping.actor == "alice@example.com"
        history = await api.resources.actions(web)
        assert [a.id for a in history.items] == [stopping.id]
        with pytest.raises(Conflict):
            await api.resources.start(bucket)
        outcomes = await api.resources.bulk_action([bucket, 999_999], "reboot")
        assert [(o.id, o.ok) for o in outcomes] == [(bucket, False), (999_999, False)]


# Jobs


async def test_wait_polls_until_the_job_finishes_reporting_each_change(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    job_id = await add_running_job(db, org_id=world.org_a, kind="discovery")
    seen: list[tuple[str, dict[str, Any]]] = []
    async with api_for(client, world.bob.access_token) as api:
        waiting = asyncio.ensure_future(
            api.jobs.wait(
                job_id, 10, interval=0.05, on_update=lambda j: seen.append((j.status, j.progress))
            )
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()
        async with db.begin():
            await jobs_service.progress(db, job_id=job_id, values={"done": 1, "total": 2})
        await asyncio.sleep(0.2)
        async with db.begin():
            await jobs_service.finish(db, job_id=job_id, succeeded=True, result={"found": 7})
        finished = await asyncio.wait_for(waiting, 5)
        assert (finished.status, finished.result) == (JobStatus.succeeded, {"found": 7})
        assert seen == [  # each change once, however often it was read
            ("running", {}),
            ("running", {"done": 1, "total": 2}),
            ("succeeded", {"done": 1, "total": 2}),
        ]
        listed = await api.jobs.list(kind="discovery")
        assert [j.id for j in listed.items] == [job_id]


async def test_wait_gives_up_after_the_timeout_with_the_last_state(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    job_id = await add_running_job(db, org_id=world.org_a, kind="cost_sync")
    url, token = url_of(client), world.bob.access_token

    def wait_in_a_thread() -> Any:
        with Client(url, access_token=token) as api:
            return api.jobs.wait(job_id, 0.3, interval=0.05)

    with pytest.raises(JobTimeout) as raised:
        await asyncio.to_thread(wait_in_a_thread)
    assert raised.value.job.status is JobStatus.running
    assert f"job {job_id} still running after 0.3 s" in str(raised.value)
    async with api_for(client, world.carol.access_token) as carol:
        with pytest.raises(NotFound):
            await carol.jobs.get(job_id)


# Cloud accounts


async def test_accounts_are_created_tested_updated_and_deleted_without_echoing_secrets(
    client: TestClient,
    world: World,
    aws: str,
) -> None:
    async with api_for(client, world.alice.access_token) as api:
        unsaved = await api.cloud_accounts.test(credentials=KEYS)
        assert unsaved.ok and unsaved.account_id == "123456789012"
        account = await api.cloud_accounts.create(
            name="Moto", credentials=KEYS, regions=["us-east-1"]
        )
        assert account.auth_method == "keys"
        assert KEYS["secret_access_key"] not in account.model_dump_json()
        assert account.credentials_hint.startswith("****")
        assert [a.id for a in (await api.cloud_accounts.list()).items] == [account.id]
        saved = await api.cloud_accounts.test_saved(account.id)
        assert saved.ok
        assert (await api.cloud_accounts.get(account.id)).status.value == "ok"
        renamed = await api.cloud_accounts.update(account.id, name="Moto prod")
        assert renamed.name == "Moto prod"
        await api.cloud_accounts.delete(account.id)
        with pytest.raises(NotFound):
            await api.cloud_accounts.get(account.id)


async def test_discover_answers_with_a_job_that_can_be_waited_for(
    client: TestClient,
    world: World,
    aws: str,
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=aws)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro")
    async with api_for(client, world.alice.access_token) as api:
        account = await api.cloud_accounts.create(
            name="Moto", credentials=KEYS, regions=["us-east-1"]
        )
        accepted = await api.cloud_accounts.discover(account.id)
        job = await api.jobs.wait(accepted.job_id, 60, interval=0.1)
        assert job.status is JobStatus.succeeded, job.detail
        found = await api.resources.list(account_id=account.id, type="ec2_instance")
        assert found.total == 2


# Costs


async def test_cost_figures_parse_as_exact_decimals(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    prod = await add_account(db, world.org_a, "Prod")
    days = this_month_so_far()
    await add_costs(
        db,
        org_id=world.org_a,
        account_id=prod,
        daily={"Amazon EC2": "10.25", "Amazon S3": "0.25"},
        days=days,
    )
    async with api_for(client, world.bob.access_token) as api:
        summary = await api.costs.summary()
        assert summary.current_month == Decimal("10.50") * len(days)
        assert summary.currency == "USD"
        services = await api.costs.by_service()
        assert [(s.service, s.amount) for s in services] == [
            ("Amazon EC2", Decimal("10.25") * len(days)),
            ("Amazon S3", Decimal("0.25") * len(days)),
        ]
        accounts = await api.costs.by_account()
        assert [(a.account_id, a.name, a.share_pct) for a in accounts] == [(prod, "Prod", 100.0)]
        daily = await api.costs.daily(start=days[0], end=days[-1])
        assert daily.days == days
        ec2 = next(s for s in daily.series if s.key == "Amazon EC2")
        assert ec2.amounts == [Decimal("10.25")] * len(days)
        forecast = await api.costs.forecast(30)
        assert forecast.interval_pct == 80
        assert forecast.history_days == len(days) - 1  # complete days: today is still billing


async def test_a_forecast_needs_a_week_of_history(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    prod = await add_account(db, world.org_a)
    today = datetime.now(UTC).date()
    await add_costs(
        db,
        org_id=world.org_a,
        account_id=prod,
        daily={"Amazon EC2": "3"},
        days=[today - timedelta(days=n) for n in range(1, 4)],
    )
    async with api_for(client, world.bob.access_token) as api:
        forecast = await api.costs.forecast(90, account_id=prod)
        assert (forecast.method, forecast.total, forecast.points) == ("not_enough_data", None, [])


async def test_sync_is_a_job_and_syncs_report_the_provider_calls_and_their_cost(
    client: TestClient,
    world: World,
    aws: str,
) -> None:
    async with api_for(client, world.alice.access_token) as api:
        with pytest.raises(Conflict):
            await api.costs.sync()  # no AWS account yet
        account = await api.cloud_accounts.create(name="Moto", credentials=KEYS)
        assert await api.costs.syncs() == []
        accepted = await api.costs.sync()
        job = await api.jobs.wait(accepted.job_id, 60, interval=0.1)
        assert (job.kind.value, job.status) == ("cost_sync", JobStatus.succeeded), job.detail
        [last] = await api.costs.syncs()
        assert (last.account_id, last.account_name, last.status) == (
            account.id,
            "Moto",
            "succeeded",
        )
        assert last.api_calls >= 1
        assert last.api_cost == Decimal("0.01") * last.api_calls


# Budgets


async def test_budgets_are_created_changed_widened_and_deleted(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    prod = await add_account(db, world.org_a)
    async with api_for(client, world.alice.access_token) as api:
        budget = await api.budgets.create(
            name="EC2", amount="100.50", account_id=prod, service="Amazon EC2"
        )
        assert (budget.amount, budget.period.value, budget.alert_threshold_pct) == (
            Decimal("100.50"),
            "monthly",
            80,
        )
        assert [b.id for b in (await api.budgets.list()).items] == [budget.id]
        changed = await api.budgets.update(budget.id, amount=200, alert_threshold_pct=90)
        assert (changed.amount, changed.account_id, changed.service) == (
            Decimal("200"),
            prod,
            "Amazon EC2",
        )
        widened = await api.budgets.update(budget.id, account_id=None, service=None)
        assert (widened.account_id, widened.service) == (None, None)
        await api.budgets.delete(budget.id)
        with pytest.raises(NotFound):
            await api.budgets.get(budget.id)


async def test_budget_status_reports_spend_projection_and_state(
    client: TestClient,
    world: World,
    db: AsyncSession,
) -> None:
    prod = await add_account(db, world.org_a)
    days = this_month_so_far()
    await add_costs(db, org_id=world.org_a, account_id=prod, daily={"Amazon EC2": "10"}, days=days)
    async with api_for(client, world.alice.access_token) as api:
        tight = await api.budgets.create(name="Tight", amount=Decimal(5))
        roomy = await api.budgets.create(name="Roomy", amount=Decimal(1_000_000))
        status = await api.budgets.status(tight.id)
        assert status.spent == Decimal(10 * len(days))
        assert status.state.value == "exceeded"
        assert status.burn_rate_per_day == Decimal(10)
        everything = await api.budgets.status_all()
        assert {(s.budget_id, s.state.value) for s in everything} == {
            (tight.id, "exceeded"),
            (roomy.id, "ok"),
        }
    async with api_for(client, world.bob.access_token) as bob:
        with pytest.raises(Forbidden):
            await bob.budgets.create(name="No", amount=1)
