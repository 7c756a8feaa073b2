"""Start, stop and reboot against moto's server: the 202, the followed state, the events,
the history and the audit trail; refusals, roles, tenancy, bulk and a restart.

moto changes state at once (an EC2 stop answers `stopping` and is `stopped` on the next
describe), so a followed action ends within a poll or two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import build_app
from server.audit.models import AuditLog
from server.config import Settings
from server.engines.resource_actions import RESOURCE_ACTIONS
from server.resources.models import Resource, ResourceAction
from tests.conftest import World
from tests.server.test_events import open_stream, read_event
from tests.server.test_resources import RESOURCES, add_account, add_resource

REGION = "us-east-1"
AMI = "ami-12c6146b"  # one of the images moto knows


@pytest.fixture
def ec2(aws: str) -> Iterator[Any]:
    yield boto3.client("ec2", region_name=REGION, endpoint_url=aws)


@pytest.fixture
def rds(aws: str) -> Iterator[Any]:
    yield boto3.client("rds", region_name=REGION, endpoint_url=aws)


def launch(ec2: Any) -> str:
    instance = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]
    return str(instance["InstanceId"])


def ec2_state(ec2: Any, instance_id: str) -> str:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


def create_database(rds: Any, identifier: str = "orders") -> str:
    rds.create_db_instance(
        DBInstanceIdentifier=identifier, Engine="postgres", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="upmetr", MasterUserPassword="Secret-password-1",
    )  # fmt: skip
    return identifier


def rds_state(rds: Any, identifier: str) -> str:
    found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    return str(found[0]["DBInstanceStatus"])


async def running_instance(
    client: TestClient, db: AsyncSession, world: World, ec2: Any, name: str = "web-1"
) -> Resource:
    account = await add_account(client, db, world.org_a)
    return await add_resource(db, account, name, provider_id=launch(ec2), region=REGION)


async def act(
    client: TestClient, person: Any, resource_id: int, action: str
) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"{RESOURCES}/{resource_id}/{action}", headers=person.headers)
    return response.status, await response.json()


async def finished(client: TestClient, world: World, resource_id: int) -> dict[str, Any]:
    """The newest action of the resource once it has ended (waits up to 10 s)."""
    async with asyncio.timeout(10):
        while True:
            response = await client.get(
                f"{RESOURCES}/{resource_id}/actions", headers=world.alice.headers
            )
            newest: dict[str, Any] = (await response.json())["items"][0]
            if newest["status"] in ("succeeded", "failed"):
                return newest
            await asyncio.sleep(0.1)


async def state_of(client: TestClient, world: World, resource_id: int) -> str:
    response = await client.get(f"{RESOURCES}/{resource_id}", headers=world.alice.headers)
    return str((await response.json())["state"])


async def audit_entries(db: AsyncSession, org_id: int) -> list[tuple[str, str, str | None]]:
    async with db.begin():
        rows = await db.execute(
            select(AuditLog.action, AuditLog.status, AuditLog.user_email)
            .where(AuditLog.org_id == org_id, AuditLog.action.like("resource.%"))
            .order_by(AuditLog.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_admin_stops_an_instance_and_its_state_is_followed_until_stopped(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    stream, _ = await open_stream(client, world.bob.headers)

    status, action = await act(client, world.alice, resource.id, "stop")
    assert status == 202, action
    assert action["action"] == "stop" and action["status"] == "pending"
    assert action["actor"] == world.alice.email and action["from_state"] == "running"

    states: list[dict[str, Any]] = []
    while not states or states[-1]["state"] != "stopped":
        event = await read_event(stream)
        if event["type"] == "resource.state":
            states.append(event["data"])
    ended = await read_event(stream)
    while ended["type"] != "resource.action":
        ended = await read_event(stream)
    stream.close()
    assert ended["data"]["id"] == action["id"] and ended["data"]["status"] == "succeeded"
    assert states[-1]["id"] == resource.id
    assert states[-1]["action_id"] == action["id"]
    assert states[0]["previous_state"] == "running"

    history = await finished(client, world, resource.id)
    assert history["status"] == "succeeded"
    assert history["to_state"] == "stopped" and history["finished_at"] is not None
    assert await state_of(client, world, resource.id) == "stopped"
    assert ec2_state(ec2, resource.provider_id) == "stopped"


async def test_admin_starts_a_stopped_instance(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    ec2.stop_instances(InstanceIds=[resource.provider_id])
    async with db.begin():
        (await db.get(Resource, resource.id)).state = "stopped"  # type: ignore[union-attr]

    status, _ = await act(client, world.alice, resource.id, "start")
    assert status == 202
    assert (await finished(client, world, resource.id))["status"] == "succeeded"
    assert await state_of(client, world, resource.id) == "running"
    assert ec2_state(ec2, resource.provider_id) == "running"


async def test_admin_reboots_a_running_instance(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    status, _ = await act(client, world.alice, resource.id, "reboot")
    assert status == 202
    history = await finished(client, world, resource.id)
    assert history["status"] == "succeeded" and history["to_state"] == "running"


async def test_each_action_is_audited_with_who_asked_and_how_it_ended(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    await act(client, world.alice, resource.id, "stop")
    await finished(client, world, resource.id)
    await act(client, world.alice, resource.id, "stop")  # already stopped: refused
    assert await audit_entries(db, world.org_a) == [
        ("resource.stop", "success", world.alice.email),
        ("resource.stop.succeeded", "success", world.alice.email),
        ("resource.stop", "failed", world.alice.email),
    ]


async def test_viewer_cannot_stop_an_instance(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    status, body = await act(client, world.bob, resource.id, "stop")
    assert status == 403 and "admin" in body["detail"]
    assert ec2_state(ec2, resource.provider_id) == "running"


async def test_another_organization_cannot_stop_an_instance(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    status, body = await act(client, world.carol, resource.id, "stop")
    assert status == 404 and body["detail"] == "Resource not found"
    assert ec2_state(ec2, resource.provider_id) == "running"


async def test_actions_on_other_types_are_a_conflict(
    client: TestClient, db: AsyncSession, world: World, aws: str
) -> None:
    account = await add_account(client, db, world.org_a)
    function = await add_resource(
        db, account, "thumbnailer", type="lambda_function", state="active"
    )
    bucket = await add_resource(db, account, "logs", type="s3_bucket", state="available")
    status, body = await act(client, world.alice, function.id, "stop")
    assert status == 409
    assert body["detail"].startswith("A Lambda function cannot be started, stopped or rebooted")
    status, body = await act(client, world.alice, bucket.id, "reboot")
    assert status == 409 and "S3 bucket" in body["detail"]


async def test_actions_that_do_not_fit_the_state_are_a_conflict(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    account = await add_account(client, db, world.org_a, "old")
    gone = await add_resource(db, account, "old-box", state="terminated")
    assert await act(client, world.alice, resource.id, "start") == (
        409, {"detail": "web-1 is already running"},
    )  # fmt: skip
    assert await act(client, world.alice, gone.id, "start") == (
        409, {"detail": "old-box is terminated"},
    )  # fmt: skip


async def test_a_resource_between_states_is_a_conflict_until_it_settles(
    client: TestClient, db: AsyncSession, world: World, aws: str
) -> None:
    account = await add_account(client, db, world.org_a)
    database = await add_resource(db, account, "orders", type="rds_instance", state="backing-up")
    status, body = await act(client, world.alice, database.id, "reboot")
    assert status == 409
    assert body["detail"] == "orders is backing-up; wait until it is available or stopped"


async def test_a_second_action_waits_for_the_first_to_finish(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    async with db.begin():
        db.add(
            ResourceAction(
                org_id=world.org_a, resource_id=resource.id, action="reboot",
                status="pending", actor="someone@example.com",
            )
        )  # fmt: skip
    status, body = await act(client, world.alice, resource.id, "stop")
    assert status == 409 and "action in progress" in body["detail"]


async def test_admin_stops_starts_and_reboots_a_database(
    client: TestClient, db: AsyncSession, world: World, rds: Any
) -> None:
    account = await add_account(client, db, world.org_a)
    arn = rds.describe_db_instances(DBInstanceIdentifier=create_database(rds))["DBInstances"][0][
        "DBInstanceArn"
    ]
    database = await add_resource(
        db, account, "orders", type="rds_instance", state="available", provider_id=arn
    )
    for action, expected in (("stop", "stopped"), ("start", "available"), ("reboot", "available")):
        status, body = await act(client, world.alice, database.id, action)
        assert status == 202, body
        history = await finished(client, world, database.id)
        assert history["action"] == action and history["status"] == "succeeded", history
        assert await state_of(client, world, database.id) == expected
        assert rds_state(rds, "orders") == expected


async def test_a_database_aws_refuses_to_stop_ends_as_a_failed_action_saying_why(
    client: TestClient, db: AsyncSession, world: World, rds: Any
) -> None:
    account = await add_account(client, db, world.org_a)
    create_database(rds)
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="orders-replica", SourceDBInstanceIdentifier="orders"
    )
    replica = await add_resource(
        db, account, "orders-replica", type="rds_instance", state="available",
        provider_id="orders-replica",
    )  # fmt: skip
    status, _ = await act(client, world.alice, replica.id, "stop")
    assert status == 202
    history = await finished(client, world, replica.id)
    assert history["status"] == "failed"
    assert history["detail"].startswith("AWS refused to stop this database")
    assert await state_of(client, world, replica.id) == "available"
    assert ("resource.stop.failed", "failed", world.alice.email) in await audit_entries(
        db, world.org_a
    )


async def test_bulk_action_gives_an_outcome_per_id(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    first = await running_instance(client, db, world, ec2, "web-1")
    account = await add_account(client, db, world.org_a, "second")
    second = await add_resource(db, account, "web-2", provider_id=launch(ec2), region=REGION)
    function = await add_resource(db, account, "fn", type="lambda_function", state="active")
    ids = [first.id, 999999, second.id, function.id, first.id]
    response = await client.post(
        f"{RESOURCES}/bulk-action", json={"ids": ids, "action": "stop"},
        headers=world.alice.headers,
    )  # fmt: skip
    assert response.status == 202
    outcomes = await response.json()
    assert [(item["id"], item["ok"]) for item in outcomes] == [
        (first.id, True), (999999, False), (second.id, True), (function.id, False),
    ]  # fmt: skip
    assert outcomes[1]["detail"] == "Resource not found"
    assert outcomes[0]["action_id"] is not None and outcomes[1]["action_id"] is None
    for resource in (first, second):
        assert (await finished(client, world, resource.id))["status"] == "succeeded"
        assert ec2_state(ec2, resource.provider_id) == "stopped"


async def test_bulk_action_finds_nothing_of_another_organization(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    response = await client.post(
        f"{RESOURCES}/bulk-action", json={"ids": [resource.id], "action": "stop"},
        headers=world.carol.headers,
    )  # fmt: skip
    assert await response.json() == [
        {"id": resource.id, "ok": False, "detail": "Resource not found", "action_id": None}
    ]
    assert ec2_state(ec2, resource.provider_id) == "running"


async def test_a_bulk_action_that_queued_nothing_answers_200_not_202(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    """202 says work was accepted to run; when every id was refused, nothing runs and every
    outcome is final."""
    account = await add_account(client, db, world.org_a, "second")
    function = await add_resource(db, account, "fn", type="lambda_function", state="active")
    response = await client.post(
        f"{RESOURCES}/bulk-action", json={"ids": [function.id, 999999], "action": "stop"},
        headers=world.alice.headers,
    )  # fmt: skip
    assert response.status == 200
    assert [(item["id"], item["ok"]) for item in await response.json()] == [
        (function.id, False), (999999, False),
    ]  # fmt: skip


async def test_viewer_cannot_use_bulk_actions(client: TestClient, world: World) -> None:
    response = await client.post(
        f"{RESOURCES}/bulk-action", json={"ids": [1], "action": "stop"}, headers=world.bob.headers
    )
    assert response.status == 403


async def test_an_action_left_running_by_a_stopped_server_is_followed_after_a_restart(
    client: TestClient, db: AsyncSession, world: World, ec2: Any, settings: Settings
) -> None:
    resource = await running_instance(client, db, world, ec2)
    # The previous process asked AWS to stop the instance, then went away.
    ec2.stop_instances(InstanceIds=[resource.provider_id])
    async with db.begin():
        (await db.get(Resource, resource.id)).state = "stopping"  # type: ignore[union-attr]
        action = ResourceAction(
            org_id=world.org_a, resource_id=resource.id, action="stop", status="running",
            actor=world.alice.email, actor_user_id=world.alice.user_id, from_state="running",
        )  # fmt: skip
        db.add(action)

    async with TestClient(TestServer(build_app(settings), host="127.0.0.1")) as restarted:
        history = await finished(restarted, world, resource.id)
    assert history["id"] == action.id and history["status"] == "succeeded"
    assert await state_of(client, world, resource.id) == "stopped"


async def test_an_action_still_pending_long_after_it_was_asked_is_failed_not_sent(
    client: TestClient, db: AsyncSession, world: World, ec2: Any
) -> None:
    resource = await running_instance(client, db, world, ec2)
    async with db.begin():
        db.add(
            ResourceAction(
                org_id=world.org_a, resource_id=resource.id, action="stop", status="pending",
                actor=world.alice.email, from_state="running",
                requested_at=datetime.now(UTC) - timedelta(minutes=11),
            )
        )  # fmt: skip
    client.app[RESOURCE_ACTIONS].wake()
    history = await finished(client, world, resource.id)
    assert history["status"] == "failed" and history["detail"].startswith("not sent")
    assert ec2_state(ec2, resource.provider_id) == "running"
