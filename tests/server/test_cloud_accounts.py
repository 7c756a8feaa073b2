"""Cloud accounts over HTTP: CRUD, secrets, roles, tenancy, plan limits, audit, connection tests.

Connection tests run against moto's server. moto accepts any credentials by default; with
its IAM enforcement on (cloud_helpers.enforced_iam) it refuses unknown access keys
(InvalidClientTokenId), wrong secrets (SignatureDoesNotMatch), calls an identity policy does
not allow (AccessDenied) and an AssumeRole whose trust policy or external ID does not match,
so those answers are real botocore ClientErrors from the same code path as production.
Throttling cannot be provoked in moto: see test_discovery.py (a throttling proxy).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from botocore.exceptions import ClientError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.cloud_accounts.models import CloudAccount
from server.context import KEYS
from server.costs.models import CostDaily
from server.providers import aws
from server.resources.models import Resource, ResourceTag
from tests.builders import add_member, create_org, create_user
from tests.conftest import World, sign_in
from tests.server.cloud_helpers import (
    ACCOUNTS,
    MOTO_ACCOUNT,
    READ_EVERYTHING,
    add_account,
    enforced_iam,
    iam_role,
    iam_user,
    keys_body,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
KEYS_BODY = keys_body("AKIAIOSFODNN7EXAMAB12", SECRET)


async def get(client: TestClient, world: World, path: str, who: str = "alice") -> tuple[int, Any]:
    response = await client.get(f"{ACCOUNTS}{path}", headers=getattr(world, who).headers)
    return response.status, await response.json()


async def audit_actions(db: AsyncSession, org_id: int) -> list[tuple[str, str | None]]:
    async with db.begin():
        rows = await db.execute(
            select(AuditLog.action, AuditLog.detail)
            .where(AuditLog.org_id == org_id, AuditLog.action.like("cloud_account.%"))
            .order_by(AuditLog.id)
        )
        return [(action, detail) for action, detail in rows.all()]


async def test_admin_adds_an_aws_account_whose_secret_is_never_echoed(
    client: TestClient, world: World
) -> None:
    response = await client.post(
        ACCOUNTS,
        json={"name": "Production", "provider": "aws", "credentials": KEYS_BODY,
              "default_region": "eu-west-1", "regions": ["eu-west-1", "us-east-1"]},
        headers=world.alice.headers,
    )  # fmt: skip
    body = await response.text()
    assert response.status == 201, body
    created = json.loads(body)
    assert (created["credentials_hint"], created["auth_method"], created["status"]) == (
        "****AB12",
        "keys",
        "pending",
    )
    assert created["regions"] == ["eu-west-1", "us-east-1"]
    assert created["external_account_id"] is None and created["created_at"].endswith("Z")
    listed = await client.get(ACCOUNTS, headers=world.alice.headers)
    one = await client.get(f"{ACCOUNTS}/{created['id']}", headers=world.bob.headers)
    for text_ in (body, await listed.text(), await one.text()):
        assert SECRET not in text_ and "secret_access_key" not in text_
    assert (await listed.json())["total"] == 1


async def test_credentials_are_encrypted_at_rest(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = await add_account(client, world, credentials=KEYS_BODY)
    async with db.begin():
        raw = await db.scalar(
            text("SELECT credentials FROM cloud_account WHERE id = :id"), {"id": created["id"]}
        )
    assert SECRET not in raw and KEYS_BODY["access_key_id"] not in raw
    assert json.loads(client.app[KEYS].decrypt(raw)) == KEYS_BODY


async def test_a_role_account_shows_the_last_four_of_its_arn(
    client: TestClient, world: World
) -> None:
    role = {"role_arn": f"arn:aws:iam::{MOTO_ACCOUNT}:role/upmetr-read", "external_id": "upm-42"}
    created = await add_account(client, world, credentials=role)
    assert (created["auth_method"], created["credentials_hint"]) == ("role", "****read")
    assert "upm-42" not in json.dumps(created)


async def test_providers_other_than_aws_are_a_400_naming_the_provider(
    client: TestClient, world: World
) -> None:
    for provider in ("gcp", "azure", "digitalocean"):
        response = await client.post(
            ACCOUNTS,
            json={"name": provider, "provider": provider, "credentials": KEYS_BODY},
            headers=world.alice.headers,
        )
        assert response.status == 400
        detail = (await response.json())["detail"]
        assert detail.startswith("provider:") and provider in detail and "only aws" in detail


async def test_bad_credentials_shapes_are_400_naming_the_field(
    client: TestClient, world: World
) -> None:
    response = await client.post(
        ACCOUNTS,
        json={"name": "x", "provider": "aws", "credentials": {"access_key_id": "lower"}},
        headers=world.alice.headers,
    )
    assert response.status == 400
    assert "credentials" in (await response.json())["detail"]


async def test_a_key_pair_without_its_secret_names_the_secret_not_the_role(
    client: TestClient, world: World
) -> None:
    response = await client.post(
        ACCOUNTS,
        json={
            "name": "x",
            "provider": "aws",
            "credentials": {"access_key_id": "AKIAEXAMPLEKEY123456"},
        },
        headers=world.alice.headers,
    )
    assert response.status == 400
    detail = (await response.json())["detail"]
    assert "secret_access_key" in detail
    assert "role_arn" not in detail


async def test_a_duplicate_name_is_a_409(client: TestClient, world: World) -> None:
    await add_account(client, world, name="Production")
    response = await client.post(
        ACCOUNTS,
        json={"name": "production", "provider": "aws", "credentials": KEYS_BODY},
        headers=world.alice.headers,
    )
    assert response.status == 409
    assert "name" in (await response.json())["detail"]


async def test_the_free_plan_limits_cloud_accounts_naming_the_limit(
    client: TestClient, db: AsyncSession, password_hash: str
) -> None:
    async with db.begin():
        org = await create_org(db, "Free Org", plan="free")
        user = await create_user(db, "dave@example.com", password_hash=password_hash)
        await add_member(db, user, org, "superadmin")
    from tests.builders import Person

    dave = await sign_in(client, Person("dave@example.com", user.id, org.id, "superadmin"))
    for expected in (201, 403):
        response = await client.post(
            ACCOUNTS,
            json={"name": f"acct {expected}", "provider": "aws", "credentials": KEYS_BODY},
            headers=dave.headers,
        )
        assert response.status == expected
    assert "cloud accounts" in (await response.json())["detail"]


async def test_viewer_reads_accounts_but_cannot_change_test_or_discover_them(
    client: TestClient, world: World
) -> None:
    created = await add_account(client, world)
    path = f"{ACCOUNTS}/{created['id']}"
    assert (await get(client, world, f"/{created['id']}", "bob"))[0] == 200
    headers = world.bob.headers
    attempts = [
        client.post(ACCOUNTS, json={"name": "x", "provider": "aws", "credentials": KEYS_BODY},
                    headers=headers),
        client.patch(path, json={"name": "renamed"}, headers=headers),
        client.delete(path, headers=headers),
        client.post(f"{path}/test", headers=headers),
        client.post(f"{path}/discover", headers=headers),
        client.post(f"{ACCOUNTS}/test", json={"provider": "aws", "credentials": KEYS_BODY},
                    headers=headers),
    ]  # fmt: skip
    for attempt in attempts:
        assert (await attempt).status == 403


async def test_another_organizations_account_is_not_found(client: TestClient, world: World) -> None:
    created = await add_account(client, world)
    path = f"{ACCOUNTS}/{created['id']}"
    headers = world.carol.headers
    assert (await client.get(path, headers=headers)).status == 404
    assert (await client.patch(path, json={"name": "mine"}, headers=headers)).status == 404
    assert (await client.delete(path, headers=headers)).status == 404
    assert (await client.post(f"{path}/test", headers=headers)).status == 404
    assert (await client.post(f"{path}/discover", headers=headers)).status == 404
    listed = await client.get(ACCOUNTS, headers=headers)
    assert (await listed.json())["total"] == 0
    assert (await get(client, world, f"/{created['id']}"))[1]["name"] == "Production"


async def test_patch_changes_fields_and_new_credentials_make_it_pending_again(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = await add_account(client, world)
    async with db.begin():
        account = await db.get_one(CloudAccount, created["id"])
        account.status = "ok"
    path = f"{ACCOUNTS}/{created['id']}"
    response = await client.patch(
        path, json={"name": "Prod", "regions": ["eu-west-1"]}, headers=world.alice.headers
    )
    changed = await response.json()
    assert (changed["name"], changed["regions"], changed["status"]) == ("Prod", ["eu-west-1"], "ok")
    response = await client.patch(
        path, json={"credentials": KEYS_BODY}, headers=world.alice.headers
    )
    changed = await response.json()
    assert (changed["credentials_hint"], changed["status"]) == ("****AB12", "pending")
    assert SECRET not in await response.text()
    other = await add_account(client, world, name="Staging")
    response = await client.patch(
        f"{ACCOUNTS}/{other['id']}", json={"name": "prod"}, headers=world.alice.headers
    )
    assert response.status == 409


async def test_delete_removes_the_account_with_its_resources_and_cost_rows(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    created = await add_account(client, world)
    async with db.begin():
        resource = Resource(
            org_id=world.org_a, account_id=created["id"], provider="aws", provider_id="i-1",
            type="ec2_instance", name="web", state="running", region="us-east-1",
        )  # fmt: skip
        db.add(resource)
        await db.flush()
        db.add(ResourceTag(resource_id=resource.id, key="env", value="prod"))
        db.add(CostDaily(
            org_id=world.org_a, account_id=created["id"], day=date(2026, 11, 1),
            service="Amazon EC2", amount_micros=1_000_000,
        ))  # fmt: skip
    response = await client.delete(f"{ACCOUNTS}/{created['id']}", headers=world.alice.headers)
    assert response.status == 204
    async with db.begin():
        for model in (CloudAccount, Resource, ResourceTag, CostDaily):
            assert await db.scalar(select(func.count()).select_from(model)) == 0
    assert (await get(client, world, f"/{created['id']}"))[0] == 404


async def test_changes_tests_and_discoveries_are_audited_without_secrets(
    client: TestClient, world: World, db: AsyncSession, aws: str
) -> None:
    created = await add_account(client, world, credentials=KEYS_BODY, regions=["us-east-1"])
    path = f"{ACCOUNTS}/{created['id']}"
    await client.patch(path, json={"credentials": KEYS_BODY}, headers=world.alice.headers)
    await client.post(f"{path}/test", headers=world.alice.headers)
    await client.post(
        f"{ACCOUNTS}/test", json={"provider": "aws", "credentials": KEYS_BODY},
        headers=world.alice.headers,
    )  # fmt: skip
    await client.post(f"{path}/discover", headers=world.alice.headers)
    await client.delete(path, headers=world.alice.headers)
    entries = await audit_actions(db, world.org_a)
    assert [action for action, _ in entries] == [
        "cloud_account.created",
        "cloud_account.updated",
        "cloud_account.tested",
        "cloud_account.tested",
        "cloud_account.discovery_requested",
        "cloud_account.deleted",
    ]
    assert entries[1][1] == "changed: credentials"
    assert all(SECRET not in (detail or "") for _, detail in entries)


# Connection tests


async def test_valid_keys_prove_identity_and_read_access_to_every_feature(
    client: TestClient, world: World, aws: str
) -> None:
    response = await client.post(
        f"{ACCOUNTS}/test",
        json={"provider": "aws", "credentials": KEYS_BODY, "default_region": "eu-west-1"},
        headers=world.alice.headers,
    )
    assert response.status == 200
    result = await response.json()
    assert (result["ok"], result["account_id"]) == (True, MOTO_ACCOUNT)
    assert MOTO_ACCOUNT in result["detail"]
    by_feature = {p["feature"]: p for p in result["permissions"]}
    assert set(by_feature) == {
        "discovery:ec2", "discovery:rds", "discovery:lambda", "discovery:s3", "discovery:elb",
        "costs",
    }  # fmt: skip
    assert all(p["ok"] for p in by_feature.values())
    # Cost Explorer is never called by a test: each call costs $0.01.
    assert by_feature["costs"]["checked"] is False and "$0.01" in by_feature["costs"]["detail"]


async def test_a_saved_account_test_records_status_and_the_aws_account_id(
    client: TestClient, world: World, aws: str
) -> None:
    created = await add_account(client, world)
    response = await client.post(f"{ACCOUNTS}/{created['id']}/test", headers=world.alice.headers)
    assert (await response.json())["ok"] is True
    _, account = await get(client, world, f"/{created['id']}")
    assert (account["status"], account["external_account_id"]) == ("ok", MOTO_ACCOUNT)
    assert account["last_tested_at"] is not None and MOTO_ACCOUNT in account["status_detail"]


async def test_unknown_access_keys_are_refused_in_plain_words(
    client: TestClient, world: World, aws: str
) -> None:
    created = await add_account(client, world, credentials=keys_body("AKIANOSUCHKEY0000001"))
    with enforced_iam(aws):
        response = await client.post(
            f"{ACCOUNTS}/{created['id']}/test", headers=world.alice.headers
        )
    result = await response.json()
    assert (result["ok"], result["account_id"], result["permissions"]) == (False, None, [])
    assert result["detail"] == "Could not connect: the access key ID is not valid"
    _, account = await get(client, world, f"/{created['id']}")
    assert (account["status"], account["status_detail"]) == ("error", result["detail"])


async def test_a_wrong_secret_is_refused_in_plain_words(
    client: TestClient, world: World, aws: str
) -> None:
    real = iam_user(aws, "someone", READ_EVERYTHING)
    with enforced_iam(aws):
        response = await client.post(
            f"{ACCOUNTS}/test",
            json={"provider": "aws", "credentials": {**real, "secret_access_key": "wrong"}},
            headers=world.alice.headers,
        )
    result = await response.json()
    assert result["ok"] is False
    assert "secret access key does not match" in result["detail"]


async def test_missing_permissions_are_named_per_feature(
    client: TestClient, world: World, aws: str
) -> None:
    limited = iam_user(aws, "ec2-only", ["ec2:DescribeInstances", "s3:ListAllMyBuckets"])
    with enforced_iam(aws):
        response = await client.post(
            f"{ACCOUNTS}/test",
            json={"provider": "aws", "credentials": limited},
            headers=world.alice.headers,
        )
    result = await response.json()
    assert (result["ok"], result["account_id"]) == (False, MOTO_ACCOUNT)
    by_feature = {p["feature"]: (p["ok"], p["detail"]) for p in result["permissions"]}
    assert by_feature["discovery:ec2"][0] and by_feature["discovery:s3"][0]
    assert by_feature["discovery:rds"] == (
        False,
        "missing permission rds:DescribeDBInstances: RDS databases will not be discovered",
    )
    assert by_feature["discovery:lambda"][0] is False
    assert by_feature["discovery:elb"][0] is False
    assert "not readable: discovery:rds, discovery:lambda, discovery:elb" in result["detail"]


@pytest.fixture
def server_identity(aws: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This server's own AWS identity (what assumes roles): an IAM user allowed AssumeRole."""
    keys = iam_user(aws, "upmetr-server", ["sts:AssumeRole"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["secret_access_key"])
    return f"arn:aws:iam::{MOTO_ACCOUNT}:user/upmetr-server"


async def test_a_role_is_assumed_with_its_external_id(
    client: TestClient, world: World, aws: str, server_identity: str
) -> None:
    role = iam_role(aws, "upmetr-read-ok", trusted_arn=server_identity, external_id="upm-1",
                    actions=READ_EVERYTHING)  # fmt: skip
    with enforced_iam(aws):
        response = await client.post(
            f"{ACCOUNTS}/test",
            json={"provider": "aws", "credentials": {"role_arn": role, "external_id": "upm-1"}},
            headers=world.alice.headers,
        )
    result = await response.json()
    assert result["account_id"] == MOTO_ACCOUNT
    # moto 5.2 miscomputes the signature of Lambda's REST calls made with session
    # credentials (it answers SignatureDoesNotMatch), so that one feature is not asserted.
    readable = {p["feature"]: p["ok"] for p in result["permissions"]}
    del readable["discovery:lambda"]
    assert all(readable.values()), result["permissions"]
    assert "assumed-role/upmetr-read-ok" in result["detail"]


async def test_a_role_that_cannot_be_assumed_is_explained(
    client: TestClient, world: World, aws: str, server_identity: str
) -> None:
    role = iam_role(aws, "upmetr-read-bad", trusted_arn=server_identity, external_id="upm-1",
                    actions=READ_EVERYTHING)  # fmt: skip
    created = await add_account(
        client, world, credentials={"role_arn": role, "external_id": "not-the-one"}
    )
    with enforced_iam(aws):
        response = await client.post(
            f"{ACCOUNTS}/{created['id']}/test", headers=world.alice.headers
        )
    result = await response.json()
    assert (result["ok"], result["account_id"]) == (False, None)
    assert result["detail"].startswith("Could not connect: the role cannot be assumed")
    assert "external ID" in result["detail"]
    _, account = await get(client, world, f"/{created['id']}")
    assert account["status"] == "error"


def test_explain_tells_throttling_from_refusals() -> None:
    """botocore retries throttled calls itself; one still throttled after its attempts is a
    transient AwsError (try later), a refused credential a permanent one."""

    def error(code: str, operation: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"}}, operation)

    throttled = aws.explain(error("ThrottlingException", "ListFunctions"))
    assert (throttled.permanent, str(throttled)) == (
        False,
        "AWS is throttling ListFunctions; try again later",
    )
    assert aws.explain(error("RequestLimitExceeded", "DescribeInstances")).permanent is False
    refused = aws.explain(error("InvalidClientTokenId", "GetCallerIdentity"))
    assert refused.permanent and aws.is_credential_error(refused)
    role = aws.explain(error("AccessDenied", "AssumeRole"))
    assert role.permanent and aws.is_credential_error(role)
    denied = aws.explain(error("AccessDenied", "DescribeDBInstances"))
    assert denied.permanent and not aws.is_credential_error(denied)


def test_the_hint_never_needs_more_than_four_characters() -> None:
    from server.cloud_accounts.providers import credentials_hint

    assert credentials_hint({"access_key_id": "AKIA0000ZZZZ1234", "secret_access_key": "s"}) == (
        "****1234"
    )
