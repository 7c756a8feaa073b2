"""Connection tests (identity, read access per feature) and discovery of resources."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from server.providers.aws.session import (
    BAD_CREDENTIALS,
    AwsError,
    AwsTarget,
    client,
    forget_clients,
    run,
)

T = TypeVar("T")

# Identity (STS GetCallerIdentity), then read access per feature with free calls. Cost
# Explorer is not called here: every request to it costs $0.01, so a test would cost money
# each time it runs; the first cost sync tells instead.
# https://aws.amazon.com/aws-cost-management/aws-cost-explorer/pricing/

# (feature, service, operation, parameters, IAM action, what is lost without it)
_FEATURE_CHECKS: tuple[tuple[str, str, str, dict[str, Any], str, str], ...] = (
    ("discovery:ec2", "ec2", "describe_instances", {"MaxResults": 5},
     "ec2:DescribeInstances", "EC2 instances will not be discovered"),
    ("discovery:rds", "rds", "describe_db_instances", {"MaxRecords": 20},
     "rds:DescribeDBInstances", "RDS databases will not be discovered"),
    ("discovery:lambda", "lambda", "list_functions", {"MaxItems": 1},
     "lambda:ListFunctions", "Lambda functions will not be discovered"),
    ("discovery:s3", "s3", "list_buckets", {},
     "s3:ListAllMyBuckets", "S3 buckets will not be discovered"),
    ("discovery:elb", "elbv2", "describe_load_balancers", {"PageSize": 1},
     "elasticloadbalancing:DescribeLoadBalancers", "load balancers will not be discovered"),
)  # fmt: skip
COSTS_NOT_CHECKED = (
    "not checked here: each Cost Explorer call costs $0.01, so ce:GetCostAndUsage is "
    "checked at the first cost sync"
)


@dataclass(frozen=True)
class Identity:
    account_id: str
    arn: str


@dataclass(frozen=True)
class FeatureCheck:
    feature: str
    ok: bool
    detail: str
    checked: bool = True


def caller_identity(target: AwsTarget, region: str) -> Identity:
    """Who the credentials are (STS GetCallerIdentity). Blocking: call it inside `run`."""
    answer = client(target, "sts", region).get_caller_identity()
    return Identity(account_id=str(answer["Account"]), arn=str(answer["Arn"]))


async def identity(target: AwsTarget, *, region: str, fresh: bool = False) -> Identity:
    """Who the credentials are; a role is assumed first (anew when `fresh`)."""
    if fresh and target.credentials.uses_role:
        forget_clients(target.credentials)
    return await run(caller_identity, target, region)


def _feature_call(target: AwsTarget, region: str, service: str, operation: str, **kw: Any) -> None:
    getattr(client(target, service, region), operation)(**kw)


async def check_features(target: AwsTarget, *, region: str) -> list[FeatureCheck]:
    """One free read call per feature, at once; a refusal names the missing permission."""

    async def check(
        feature: str, service: str, operation: str, params: dict[str, Any], action: str, loss: str
    ) -> FeatureCheck:
        try:
            await run(_feature_call, target, region, service, operation, **params)
        except AwsError as exc:
            if exc.permanent:
                return FeatureCheck(feature, False, f"missing permission {action}: {loss}")
            return FeatureCheck(feature, False, f"could not be checked: {exc}")
        return FeatureCheck(feature, True, f"{action} allowed")

    checks = await asyncio.gather(*(check(*spec) for spec in _FEATURE_CHECKS))
    return [*checks, FeatureCheck("costs", True, COSTS_NOT_CHECKED, checked=False)]


def is_credential_error(exc: AwsError) -> bool:
    """The credentials themselves are refused (bad keys, a role that cannot be assumed)."""
    return exc.code in BAD_CREDENTIALS or (
        exc.code == "AccessDenied" and str(exc).startswith("the role cannot be assumed")
    )


def _enabled_regions(target: AwsTarget, region: str) -> list[str]:
    answer = client(target, "ec2", region).describe_regions(AllRegions=False)
    return sorted(str(item["RegionName"]) for item in answer["Regions"])


async def enabled_regions(target: AwsTarget, *, region: str) -> list[str]:
    """The regions enabled for the account (opt-in regions only once opted in)."""
    return await run(_enabled_regions, target, region)


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in items or []}


def _iso(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def _found(
    *, provider_id: str, type: str, name: str, state: str, size: str | None, region: str,
    tags: dict[str, str], metadata: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    return {
        "provider_id": provider_id, "type": type, "name": name[:255], "state": state,
        "size": size, "region": region, "tags": tags,
        "metadata": {key: _iso(value) for key, value in metadata.items() if value is not None},
    }  # fmt: skip


def _ec2_instances(target: AwsTarget, region: str) -> list[dict[str, Any]]:
    ec2 = client(target, "ec2", region)
    found = []
    for page in ec2.get_paginator("describe_instances").paginate(
        PaginationConfig={"PageSize": 1000}
    ):
        for reservation in page.get("Reservations", []):
            for item in reservation.get("Instances", []):
                tags = _tags(item.get("Tags"))
                placement = item.get("Placement", {})
                found.append(_found(
                    provider_id=item["InstanceId"], type="ec2_instance",
                    name=tags.get("Name") or item["InstanceId"], state=item["State"]["Name"],
                    size=item.get("InstanceType"), region=region, tags=tags,
                    metadata={
                        "image_id": item.get("ImageId"), "launch_time": item.get("LaunchTime"),
                        "availability_zone": placement.get("AvailabilityZone"),
                        "vpc_id": item.get("VpcId"), "subnet_id": item.get("SubnetId"),
                        "private_ip": item.get("PrivateIpAddress"),
                        "public_ip": item.get("PublicIpAddress"),
                        "platform": item.get("PlatformDetails") or item.get("Platform"),
                        "architecture": item.get("Architecture"),
                    },
                ))  # fmt: skip
    return found


def _rds_instances(target: AwsTarget, region: str) -> list[dict[str, Any]]:
    rds = client(target, "rds", region)
    found = []
    for page in rds.get_paginator("describe_db_instances").paginate():
        for item in page.get("DBInstances", []):
            tags = _tags(item.get("TagList"))
            endpoint = item.get("Endpoint") or {}
            found.append(_found(
                provider_id=item["DBInstanceArn"], type="rds_instance",
                name=tags.get("Name") or item["DBInstanceIdentifier"],
                state=item["DBInstanceStatus"], size=item.get("DBInstanceClass"), region=region,
                tags=tags,
                metadata={
                    "identifier": item["DBInstanceIdentifier"], "engine": item.get("Engine"),
                    "engine_version": item.get("EngineVersion"),
                    "multi_az": item.get("MultiAZ"),
                    "allocated_storage_gb": item.get("AllocatedStorage"),
                    "endpoint": endpoint.get("Address"), "port": endpoint.get("Port"),
                    "availability_zone": item.get("AvailabilityZone"),
                    "created_at": item.get("InstanceCreateTime"),
                },
            ))  # fmt: skip
    return found


# Lambda and S3 need a call per item (tags, a bucket's region): a few at once per listing.
_ITEM_CALLS_AT_ONCE = 4


def _per_item(fn: Callable[[Any], T], items: list[Any]) -> list[T]:
    if len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=_ITEM_CALLS_AT_ONCE) as pool:
        return list(pool.map(fn, items))


def _lambda_functions(target: AwsTarget, region: str) -> list[dict[str, Any]]:
    functions = client(target, "lambda", region)
    items = [
        item
        for page in functions.get_paginator("list_functions").paginate()
        for item in page.get("Functions", [])
    ]

    def tags_of(item: dict[str, Any]) -> dict[str, str]:
        # ListFunctions returns no tags: one ListTags per function.
        answer = functions.list_tags(Resource=item["FunctionArn"]).get("Tags", {})
        return {str(key): str(value) for key, value in answer.items()}

    found = []
    for item, tags in zip(items, _per_item(tags_of, items), strict=True):
        runtime = item.get("Runtime") or item.get("PackageType") or "function"
        found.append(_found(
            provider_id=item["FunctionArn"], type="lambda_function",
            name=tags.get("Name") or item["FunctionName"],
            # ListFunctions leaves State out; a listed function is deployed.
            state=str(item.get("State") or "active").lower(),
            size=f"{runtime}, {item.get('MemorySize', 128)} MB", region=region, tags=tags,
            metadata={
                "function_name": item["FunctionName"], "runtime": item.get("Runtime"),
                "handler": item.get("Handler"), "memory_mb": item.get("MemorySize"),
                "timeout_seconds": item.get("Timeout"),
                "architectures": item.get("Architectures"),
                "last_modified": item.get("LastModified"), "code_size": item.get("CodeSize"),
            },
        ))  # fmt: skip
    return found


def _load_balancers(target: AwsTarget, region: str) -> list[dict[str, Any]]:
    elb = client(target, "elbv2", region)
    items = [
        item
        for page in elb.get_paginator("describe_load_balancers").paginate()
        for item in page.get("LoadBalancers", [])
    ]
    tags: dict[str, dict[str, str]] = {}
    arns = [item["LoadBalancerArn"] for item in items]
    for start in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
        answer = elb.describe_tags(ResourceArns=arns[start : start + 20])
        for described in answer.get("TagDescriptions", []):
            tags[described["ResourceArn"]] = _tags(described.get("Tags"))
    found = []
    for item in items:
        arn = item["LoadBalancerArn"]
        item_tags = tags.get(arn, {})
        found.append(_found(
            provider_id=arn, type="load_balancer",
            name=item_tags.get("Name") or item["LoadBalancerName"],
            state=(item.get("State") or {}).get("Code", "unknown"), size=item.get("Type"),
            region=region, tags=item_tags,
            metadata={
                "load_balancer_name": item["LoadBalancerName"],
                "dns_name": item.get("DNSName"), "scheme": item.get("Scheme"),
                "vpc_id": item.get("VpcId"), "created_at": item.get("CreatedTime"),
                "availability_zones": [
                    zone.get("ZoneName") for zone in item.get("AvailabilityZones", [])
                ],
            },
        ))  # fmt: skip
    return found


def _bucket_region(s3: Any, name: str) -> str:
    # LocationConstraint is null for us-east-1 and "EU" for the oldest eu-west-1 buckets.
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html
    location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def _bucket_tags(s3: Any, name: str) -> dict[str, str]:
    try:
        return _tags(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchTagSet":
            return {}
        raise


def _s3_buckets(target: AwsTarget, region: str) -> list[dict[str, Any]]:
    s3 = client(target, "s3", region)
    items = [
        item
        for page in s3.get_paginator("list_buckets").paginate()
        for item in page.get("Buckets", [])
    ]

    def details_of(item: dict[str, Any]) -> tuple[str, dict[str, str]]:
        return _bucket_region(s3, item["Name"]), _bucket_tags(s3, item["Name"])

    found = []
    for item, (bucket_region, tags) in zip(items, _per_item(details_of, items), strict=True):
        name = item["Name"]
        found.append(_found(
            provider_id=name, type="s3_bucket", name=tags.get("Name") or name,
            state="available", size=None, region=bucket_region, tags=tags,
            metadata={"bucket": name, "created_at": item.get("CreationDate")},
        ))  # fmt: skip
    return found


# Discovery per service: regional ones run in each region, global ones once.
REGIONAL_SERVICES: dict[str, Callable[[AwsTarget, str], list[dict[str, Any]]]] = {
    "ec2": _ec2_instances,
    "rds": _rds_instances,
    "lambda": _lambda_functions,
    "elbv2": _load_balancers,
}
GLOBAL_SERVICES: dict[str, Callable[[AwsTarget, str], list[dict[str, Any]]]] = {
    "s3": _s3_buckets,
}
SERVICE_TYPES = {
    "ec2": "ec2_instance",
    "rds": "rds_instance",
    "lambda": "lambda_function",
    "elbv2": "load_balancer",
    "s3": "s3_bucket",
}


async def discover(target: AwsTarget, *, service: str, region: str) -> list[dict[str, Any]]:
    """Every resource of one service in one region (a global service: `region` is where the
    call goes), as dicts {provider_id, type, name, state, size, region, tags, metadata}."""
    fn = REGIONAL_SERVICES.get(service) or GLOBAL_SERVICES[service]
    return await run(fn, target, region)
