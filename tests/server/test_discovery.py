"""Discovery against moto's server: every kind of resource over several regions, re-discovery
marking what vanished, job progress and outcome, live events, failures and the schedule."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.cloud_accounts import providers
from server.cloud_accounts.models import CloudAccount
from server.config import Settings
from server.context import EVENTS, KEYS, SESSIONS
from server.engines.discovery import DiscoveryEngine
from server.events.bus import EVENT_BUS
from server.jobs import service as jobs
from server.jobs.models import Job
from server.orgs.models import Organization
from server.resources.models import Resource, ResourceTag
from tests.conftest import World
from tests.server.cloud_helpers import (
    MOTO_ACCOUNT,
    add_account,
    aws_client,
    create_bucket,
    create_database,
    create_function,
    create_load_balancer,
    discover,
    enforced_iam,
    iam_user,
    keys_body,
    run_instances,
    wait_for_job,
)

REGIONS = ["ap-southeast-2", "eu-west-1", "us-east-1"]


async def resources(db: AsyncSession, **where: Any) -> list[Resource]:
    async with db.begin():
        rows = await db.scalars(
            select(Resource).filter_by(**where).order_by(Resource.type, Resource.name)
        )
        found = list(rows)
    db.expunge_all()
    return found


async def test_discovery_finds_every_kind_of_resource_across_regions(
    client: TestClient, world: World, db: AsyncSession, aws: str
) -> None:
    for region in REGIONS:
        run_instances(aws, region, 12, name=f"web-{region}", env="prod")
        run_instances(aws, region, 10, team="batch")
    create_database(aws, "eu-west-1", "orders", env="prod")
    create_database(aws, "us-east-1", "reports")
    for name in ("resize", "thumbs", "mailer"):
        create_function(aws, "eu-west-1", name, owner="media")
    create_bucket(aws, "logs-east")
    create_bucket(aws, "data-eu", "eu-west-1", team="data")
    create_bucket(aws, "backups-syd", "ap-southeast-2")
    create_load_balancer(aws, "us-east-1", "front-lb", Name="front")
    account = await add_account(client, world, regions=REGIONS)

    job = await discover(client, world, account["id"])

    assert job["status"] == "succeeded", job
    result = job["result"]
    expected = 66 + 2 + 3 + 3 + 1
    assert (result["found"], result["new"], result["updated"], result["terminated"]) == (
        expected, expected, 0, 0,
    )  # fmt: skip
    assert (result["regions"], result["units"], result["failed_units"]) == (3, 13, 0)
    assert job["progress"]["done"] == job["progress"]["total"] == 13
    assert (
        job["detail"]
        == f"Found {expected} resources in 3 regions: {expected} new, 0 updated, 0 terminated"
    )

    found = await resources(db, account_id=account["id"])
    by_type: dict[str, int] = defaultdict(int)
    for resource in found:
        by_type[resource.type] += 1
    assert by_type == {"ec2_instance": 66, "rds_instance": 2, "lambda_function": 3,
                       "s3_bucket": 3, "load_balancer": 1}  # fmt: skip
    instances = [r for r in found if r.type == "ec2_instance"]
    assert {r.region for r in instances} == set(REGIONS)
    named = [r for r in instances if r.name == "web-eu-west-1"]
    assert len(named) == 12 and named[0].tags == {"Name": "web-eu-west-1", "env": "prod"}
    unnamed = [r for r in instances if r.tags == {"team": "batch"}]
    assert len(unnamed) == 30 and all(r.name == r.provider_id for r in unnamed)
    assert all(r.state == "running" and r.size == "t3.micro" for r in instances)
    assert named[0].details["image_id"] == "ami-12c6146b"
    assert named[0].details["availability_zone"].startswith("eu-west-1")
    database = next(r for r in found if r.name == "orders")
    assert (database.state, database.size, database.region) == (
        "available",
        "db.t3.micro",
        "eu-west-1",
    )
    assert database.provider_id.startswith("arn:aws:rds:eu-west-1:")
    assert database.details["engine"] == "postgres"
    function = next(r for r in found if r.name == "thumbs")
    assert (function.state, function.size, function.tags) == (
        "active", "python3.12, 256 MB", {"owner": "media"},
    )  # fmt: skip
    buckets = {r.name: r for r in found if r.type == "s3_bucket"}
    assert {name: r.region for name, r in buckets.items()} == {
        "logs-east": "us-east-1", "data-eu": "eu-west-1", "backups-syd": "ap-southeast-2",
    }  # fmt: skip
    assert buckets["data-eu"].tags == {"team": "data"}
    balancer = next(r for r in found if r.type == "load_balancer")
    assert (balancer.name, balancer.size) == ("front", "application")
    assert balancer.details["load_balancer_name"] == "front-lb"

    async with db.begin():
        prod_tags = await db.scalar(
            select(func.count()).select_from(ResourceTag).where(
                ResourceTag.key == "env", ResourceTag.value == "prod"
            )
        )  # fmt: skip
        stored = await db.get_one(CloudAccount, account["id"])
    assert prod_tags == 36 + 1
    assert stored.last_discovered_at is not None
    assert (stored.status, stored.external_account_id) == ("ok", MOTO_ACCOUNT)


async def test_rediscovery_marks_what_vanished_terminated_and_pushes_state_changes(
    client: TestClient, world: World, db: AsyncSession, aws: str
) -> None:
    doomed, stopped, kept = run_instances(aws, "us-east-1", 3, env="dev")
    create_bucket(aws, "keep-me")
    create_bucket(aws, "remove-me")
    account = await add_account(client, world, regions=["us-east-1"])
    first = await discover(client, world, account["id"])
    assert first["result"]["new"] == 5

    ec2 = aws_client(aws, "ec2")
    ec2.terminate_instances(InstanceIds=[doomed])
    ec2.stop_instances(InstanceIds=[stopped])
    aws_client(aws, "s3").delete_bucket(Bucket="remove-me")
    stream = client.app[EVENT_BUS].subscribe(world.org_a, after=None)
    carol_stream = client.app[EVENT_BUS].subscribe(world.org_b, after=None)

    second = await discover(client, world, account["id"])

    result = second["result"]
    assert (result["found"], result["new"], result["updated"], result["unchanged"],
            result["terminated"]) == (4, 0, 1, 2, 2)  # fmt: skip
    states = {r.provider_id: (r.state, r.terminated_at is not None) for r in await resources(db)}
    assert states[doomed] == ("terminated", True)
    assert states[stopped] == ("stopped", False)
    assert states[kept] == ("running", False)
    assert states["remove-me"] == ("terminated", True)
    assert states["keep-me"] == ("available", False)

    events: list[tuple[str, dict[str, Any]]] = []
    while True:
        event = await asyncio.wait_for(stream.next(), timeout=5)
        assert event is not None
        events.append((event.type, json.loads(event.data_json)))
        if event.type == "job.updated" and events[-1][1]["status"] == "succeeded":
            break
    changes = {data["name"]: (data["previous_state"], data["state"])
               for kind, data in events if kind == "resource.state"}  # fmt: skip
    assert changes == {
        doomed: ("running", "terminated"),
        stopped: ("running", "stopped"),
        "remove-me": ("available", "terminated"),
    }
    jobs_seen = [data for kind, data in events if kind == "job.updated"]
    assert all(data["id"] == second["id"] and data["kind"] == "discovery" for data in jobs_seen)
    assert [d["status"] for d in jobs_seen][:2] == ["queued", "running"]
    done = [d["progress"].get("done") for d in jobs_seen if d["progress"]]
    assert done == sorted(done) and done[-1] == 5
    assert jobs_seen[-1]["result"]["terminated"] == 2
    with pytest.raises(TimeoutError):  # carol's organization heard nothing
        await asyncio.wait_for(carol_stream.next(), timeout=0.2)
    stream.close()
    carol_stream.close()


async def test_asking_twice_runs_one_discovery(client: TestClient, world: World, aws: str) -> None:
    account = await add_account(client, world, regions=["us-east-1"])
    path = f"/api/v1/cloud-accounts/{account['id']}/discover"
    first = await client.post(path, headers=world.alice.headers)
    second = await client.post(path, headers=world.alice.headers)
    assert (await first.json())["job_id"] == (await second.json())["job_id"]


class ThrottlingProxy:
    """An AWS endpoint in front of moto that throttles the calls `throttle` picks, as AWS
    does under load (EC2's RequestLimitExceeded, HTTP 503), and forwards the rest."""

    HOP = {"host", "content-length", "transfer-encoding", "content-encoding", "connection"}

    def __init__(self, upstream: str, service: str, region: str) -> None:
        self.upstream = upstream
        self.scope = f"/{region}/{service}/aws4_request"
        self.throttled = 0
        self.url = ""
        self.session: aiohttp.ClientSession | None = None

    def _throttle(self, request: web.Request, body: bytes) -> bool:
        return self.scope in request.headers.get("Authorization", "") and (
            b"Action=DescribeInstances" in body
        )

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self._throttle(request, body):
            self.throttled += 1
            return web.Response(
                status=503, content_type="text/xml",
                text="<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>"
                "Request limit exceeded.</Message></Error></Errors><RequestID>1</RequestID>"
                "</Response>",
            )  # fmt: skip
        assert self.session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in self.HOP}
        async with self.session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body
        ) as answer:
            data = await answer.read()
            reply = {k: v for k, v in answer.headers.items() if k.lower() not in self.HOP}
            return web.Response(status=answer.status, body=data, headers=reply)


@pytest.fixture
async def throttled_sydney_ec2(aws: str, settings: Settings) -> AsyncIterator[ThrottlingProxy]:
    proxy = ThrottlingProxy(aws, "ec2", "ap-southeast-2")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        TestServer(app, host="127.0.0.1") as server,
    ):
        proxy.session = session
        proxy.url = str(server.make_url("")).rstrip("/")
        settings.aws_max_attempts = 2
        yield proxy


async def test_a_throttled_region_is_recorded_without_failing_the_job_or_terminating_it(
    client: TestClient, world: World, db: AsyncSession, aws: str,
    settings: Settings, throttled_sydney_ec2: ThrottlingProxy,
) -> None:  # fmt: skip
    run_instances(aws, "ap-southeast-2", 2)
    run_instances(aws, "eu-west-1", 2)
    account = await add_account(client, world, regions=["ap-southeast-2", "eu-west-1"])
    # A first run straight to moto finds everything.
    assert (await discover(client, world, account["id"]))["result"]["new"] == 4

    # Through the proxy now: EC2 in Sydney is throttled on every attempt.
    settings.aws_endpoint_url = throttled_sydney_ec2.url
    job = await discover(client, world, account["id"])

    assert job["status"] == "succeeded"
    result = job["result"]
    assert result["failed_units"] == 1
    assert result["failures"] == [{
        "unit": "ec2/ap-southeast-2", "service": "ec2", "region": "ap-southeast-2",
        "detail": "AWS is throttling DescribeInstances; try again later", "permanent": False,
    }]  # fmt: skip
    # botocore retried the throttled call (adaptive mode) before the unit gave up:
    # `max_attempts` counts retries, on top of the first call.
    assert throttled_sydney_ec2.throttled == 1 + settings.aws_max_attempts
    assert (result["found"], result["unchanged"], result["terminated"]) == (2, 2, 0)
    assert "1 of 9 listings failed" in job["detail"]
    sydney = await resources(db, region="ap-southeast-2", type="ec2_instance")
    assert [r.state for r in sydney] == ["running", "running"]  # not terminated by an outage


async def test_refused_credentials_fail_the_job_and_put_the_account_in_error(
    client: TestClient, world: World, db: AsyncSession, aws: str
) -> None:
    account = await add_account(
        client, world, credentials=keys_body("AKIANOSUCHKEY0000002"), regions=["us-east-1"]
    )
    with enforced_iam(aws):
        job = await discover(client, world, account["id"])
    assert job["status"] == "failed"
    assert job["detail"] == "Could not connect: the access key ID is not valid"
    async with db.begin():
        stored = await db.get_one(CloudAccount, account["id"])
    assert stored.status == "error" and "access key ID is not valid" in (stored.status_detail or "")


async def test_units_run_at_once_within_the_region_and_account_bounds(
    client: TestClient, world: World, aws: str, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    settings.provider_concurrency = 4
    settings.provider_region_concurrency = 2
    running: dict[str, int] = defaultdict(int)
    most: dict[str, int] = defaultdict(int)
    real = providers.AwsProvider.discover

    async def counted(self: Any, credentials: dict[str, str], unit: providers.Unit) -> Any:
        for key in ("all", unit.region):
            running[key] += 1
            most[key] = max(most[key], running[key])
        try:
            await asyncio.sleep(0.05)
            return await real(self, credentials, unit)
        finally:
            for key in ("all", unit.region):
                running[key] -= 1

    monkeypatch.setattr(providers.AwsProvider, "discover", counted)
    account = await add_account(client, world, regions=REGIONS)
    job = await discover(client, world, account["id"])
    assert job["status"] == "succeeded"
    assert most["all"] == 4
    assert all(most[region] == 2 for region in REGIONS)


async def test_an_account_without_regions_is_discovered_in_every_enabled_region(
    client: TestClient, world: World, settings: Settings, aws: str
) -> None:
    provider = providers.provider_for("aws", settings)
    regions = await provider.regions(keys_body(), region="us-east-1")
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    units = provider.units(regions, default_region="us-east-1")
    assert len(units) == 4 * len(regions) + 1  # S3 is listed once, not per region


async def test_the_schedule_queues_discovery_per_the_organizations_settings(
    client: TestClient, world: World, db: AsyncSession, settings: Settings
) -> None:
    a = await add_account(client, world, name="A")
    b = await add_account(client, world, name="B")
    carols = await client.post(
        "/api/v1/cloud-accounts",
        json={"name": "C", "provider": "aws", "credentials": keys_body()},
        headers=world.carol.headers,
    )
    c = await carols.json()
    async with db.begin():
        await db.execute(
            update(Organization)
            .where(Organization.id == world.org_b)
            .values(settings={"discovery_auto": False})
        )
        await db.execute(
            update(CloudAccount).where(CloudAccount.id == b["id"]).values(status="error")
        )
    engine = DiscoveryEngine(
        client.app[SESSIONS], client.app[EVENTS], settings, client.app[KEYS], schedule=True
    )
    now = datetime.now(UTC)
    assert await engine.queue_due(now=now) == 1  # A: never discovered; B in error; C off
    assert await engine.queue_due(now=now) == 0  # A's job is still queued
    async with db.begin():
        await db.execute(
            update(Job).values(status="succeeded", created_at=now - timedelta(hours=23))
        )
    assert await engine.queue_due(now=now) == 0  # the default interval is 24h
    assert await engine.queue_due(now=now + timedelta(hours=2)) == 1
    async with db.begin():
        accounts = list(await db.scalars(select(Job.account_id).order_by(Job.id)))
    assert accounts == [a["id"], a["id"]] and c["id"] not in accounts


async def test_a_discovery_whose_runner_died_is_run_again_once_its_lease_lapses(
    client: TestClient, world: World, db: AsyncSession, settings: Settings, aws: str
) -> None:
    run_instances(aws, "us-east-1", 2)
    account = await add_account(client, world, regions=["us-east-1"])
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    async with db.begin():
        job, _ = await jobs.enqueue(
            db, org_id=world.org_a, kind="discovery", account_id=account["id"]
        )
        # Claimed by a runner that then died: running, its lease long lapsed.
        await jobs.claim(db, kind="discovery", now=long_ago)
        job_id = job.id
    engine = DiscoveryEngine(
        client.app[SESSIONS], client.app[EVENTS], settings, client.app[KEYS], schedule=False
    )
    assert await engine.run_once() is True
    finished = await wait_for_job(client, world, job_id)
    assert (finished["status"], finished["result"]["new"]) == ("succeeded", 2)
    async with db.begin():
        assert await db.scalar(select(Job.attempts).where(Job.id == job_id)) == 2
    await engine.stop()


async def test_deleting_an_account_during_its_discovery_leaves_nothing_behind(
    client: TestClient, world: World, db: AsyncSession, aws: str
) -> None:
    for region in REGIONS:
        run_instances(aws, region, 5)
    doomed = await add_account(client, world, name="Doomed", regions=REGIONS)
    path = f"/api/v1/cloud-accounts/{doomed['id']}"
    assert (await client.post(f"{path}/discover", headers=world.alice.headers)).status == 202
    await asyncio.sleep(0.3)  # the run is under way
    assert (await client.delete(path, headers=world.alice.headers)).status == 204
    other = await add_account(client, world, name="Other", regions=["us-east-1"])
    job = await discover(client, world, other["id"])  # the engine goes on
    assert job["status"] == "succeeded"
    await asyncio.sleep(0.5)
    # SQLite may give "Other" the id "Doomed" had; nothing of Doomed's run lands on it.
    left = await resources(db)
    assert {(r.account_id, r.region) for r in left} == {(other["id"], "us-east-1")}
    assert len(left) == 5
    async with db.begin():
        job_ids = list(await db.scalars(select(Job.id)))
    assert job_ids == [job["id"]]


async def test_a_service_the_credentials_may_not_read_is_recorded_and_the_rest_is_stored(
    client: TestClient, world: World, db: AsyncSession, aws: str
) -> None:
    run_instances(aws, "us-east-1", 3)
    create_bucket(aws, "unseen")
    ec2_only = iam_user(aws, "ec2-reader", ["ec2:DescribeInstances", "ec2:DescribeRegions"])
    account = await add_account(client, world, credentials=ec2_only, regions=["us-east-1"])
    with enforced_iam(aws):
        job = await discover(client, world, account["id"])
    assert job["status"] == "succeeded"
    result = job["result"]
    assert (result["found"], result["new"], result["failed_units"]) == (3, 3, 4)
    failed = {f["unit"]: f for f in result["failures"]}
    assert set(failed) == {"rds/us-east-1", "lambda/us-east-1", "elbv2/us-east-1", "s3"}
    # moto 5.2 answers Lambda's signed REST calls with an XML SignatureDoesNotMatch
    # under IAM enforcement, which botocore cannot parse: only its failure is asserted.
    assert all(failed[unit]["permanent"] for unit in ("rds/us-east-1", "elbv2/us-east-1", "s3"))
    assert failed["rds/us-east-1"]["detail"].startswith("not allowed to call DescribeDBInstances")
    assert [r.type for r in await resources(db)] == ["ec2_instance"] * 3
    async with db.begin():
        stored = await db.get_one(CloudAccount, account["id"])
    assert stored.status == "ok"  # refused services are not refused credentials
