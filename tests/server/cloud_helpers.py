"""Arranging AWS state in moto's server, and the cloud account calls tests share.

moto accepts any credentials unless its IAM enforcement is on (`enforced_iam`): then
unknown keys, wrong secrets, identity policies and role trust policies (with their
sts:ExternalId condition) are checked as AWS does, so refusals are provoked for real.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import httpx
from aiohttp.test_utils import TestClient

from tests.conftest import World

ACCOUNTS = "/api/v1/cloud-accounts"
MOTO_ACCOUNT = "123456789012"
AMI = "ami-12c6146b"  # one of moto's bundled AMIs


def aws_client(endpoint: str, service: str, region: str = "us-east-1", **keys: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=region, **keys)


def keys_body(
    access_key_id: str = "AKIAEXAMPLEKEY0AB12", secret: str = "s3cret/value"
) -> dict[str, str]:
    return {"access_key_id": access_key_id, "secret_access_key": secret}


async def add_account(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    *,
    name: str = "Production",
    credentials: dict[str, str] | None = None,
    regions: list[str] | None = None,
    expect: int = 201,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "name": name,
        "provider": "aws",
        "credentials": credentials or keys_body(),
        "default_region": "us-east-1",
        **extra,
    }
    if regions is not None:
        body["regions"] = regions
    response = await client.post(ACCOUNTS, json=body, headers=world.alice.headers)
    assert response.status == expect, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def wait_for_job(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    job_id: int,
    timeout: float = 60,
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(f"/api/v1/jobs/{job_id}", headers=world.alice.headers)
        assert response.status == 200, await response.text()
        job: dict[str, Any] = await response.json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert asyncio.get_running_loop().time() < deadline, job
        await asyncio.sleep(0.1)


async def discover(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    account_id: int,
) -> dict[str, Any]:
    response = await client.post(f"{ACCOUNTS}/{account_id}/discover", headers=world.alice.headers)
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    return await wait_for_job(client, world, job_id)


@contextmanager
def enforced_iam(endpoint: str) -> Iterator[None]:
    """moto checks signatures and IAM policies from the next request on."""
    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
    try:
        yield
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf", timeout=10)


def iam_user(endpoint: str, name: str, actions: list[str]) -> dict[str, str]:
    """An IAM user allowed `actions` on everything; its access key pair."""
    iam = aws_client(endpoint, "iam")
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"},
    ]}  # fmt: skip
    iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def iam_role(
    endpoint: str, name: str, *, trusted_arn: str, external_id: str, actions: list[str]
) -> str:
    """A role `trusted_arn` may assume with `external_id`, allowed `actions`; its ARN."""
    iam = aws_client(endpoint, "iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": trusted_arn}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }]}  # fmt: skip
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"},
    ]}  # fmt: skip
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(policy))
    return arn


READ_EVERYTHING = [
    "ec2:Describe*",
    "rds:Describe*",
    "rds:ListTagsForResource",
    # moto names Lambda's actions after its URL versions (lambda:ListFunctions20150331).
    "lambda:*",
    "s3:List*",
    "s3:GetBucket*",
    "elasticloadbalancing:Describe*",
    "sts:GetCallerIdentity",
]


def run_instances(
    endpoint: str, region: str, count: int, *, name: str | None = None, **tags: str
) -> list[str]:
    all_tags = {**tags, **({"Name": name} if name else {})}
    spec = [
        {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}
    ]
    answer = aws_client(endpoint, "ec2", region).run_instances(
        ImageId=AMI, MinCount=count, MaxCount=count, InstanceType="t3.micro",
        **({"TagSpecifications": spec} if all_tags else {}),
    )  # fmt: skip
    return [item["InstanceId"] for item in answer["Instances"]]


def create_database(endpoint: str, region: str, identifier: str, **tags: str) -> str:
    answer = aws_client(endpoint, "rds", region).create_db_instance(
        DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", Engine="postgres",
        MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )  # fmt: skip
    arn: str = answer["DBInstance"]["DBInstanceArn"]
    return arn


def create_function(endpoint: str, region: str, name: str, **tags: str) -> str:
    # moto runs no container to create a function, only to invoke one; the role must exist.
    iam = aws_client(endpoint, "iam")
    try:
        role = iam.get_role(RoleName="lambda-exec")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="lambda-exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return 1\n")
    answer = aws_client(endpoint, "lambda", region).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handle",
        Code={"ZipFile": code.getvalue()}, MemorySize=256, Tags=tags,
    )  # fmt: skip
    arn: str = answer["FunctionArn"]
    return arn


def create_bucket(endpoint: str, name: str, region: str = "us-east-1", **tags: str) -> None:
    s3 = aws_client(endpoint, "s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if tags:
        s3.put_bucket_tagging(
            Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        )


def create_load_balancer(endpoint: str, region: str, name: str, **tags: str) -> str:
    subnets = aws_client(endpoint, "ec2", region).describe_subnets()["Subnets"]
    answer = aws_client(endpoint, "elbv2", region).create_load_balancer(
        Name=name, Subnets=[subnet["SubnetId"] for subnet in subnets[:2]],
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )  # fmt: skip
    arn: str = answer["LoadBalancers"][0]["LoadBalancerArn"]
    return arn
