"""Everything that talks to AWS goes through this module: the only boto3 import.

boto3 blocks, so every call runs in a worker thread (`run`); nothing here touches the event
loop or the database. Callers get plain dicts and dataclasses, and `AwsError` for failures,
with `permanent` telling a bad credential (stop, tell the user) from a hiccup (retry later).

Sections: sessions and errors (shared); connection test and discovery; resource actions;
Cost Explorer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from botocore.session import get_session

T = TypeVar("T")

ROLE_SESSION_NAME = "upmetr"
ROLE_SESSION_SECONDS = 3600

# Error codes that mean the credentials themselves are wrong: retrying cannot help.
_BAD_CREDENTIALS = {
    "InvalidClientTokenId": "the access key ID is not valid",
    "SignatureDoesNotMatch": "the secret access key does not match the access key ID",
    "UnrecognizedClientException": "the access key ID is not valid",
    "AuthFailure": "AWS did not accept the credentials",
    "ExpiredToken": "the credentials have expired",
    "InvalidAccessKeyId": "the access key ID is not valid",
}
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}


class AwsError(Exception):
    """A failed AWS call, in words a user can act on."""

    def __init__(self, message: str, *, permanent: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


@dataclass(frozen=True)
class AwsCredentials:
    """Either an access key pair, or a role (ARN + external ID) assumed with STS."""

    access_key_id: str | None = None
    secret_access_key: str | None = None
    role_arn: str | None = None
    external_id: str | None = None

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> AwsCredentials:
        return cls(**{key: values.get(key) for key in cls.__dataclass_fields__})

    @property
    def uses_role(self) -> bool:
        return self.role_arn is not None


@dataclass(frozen=True)
class AwsTarget:
    """Where calls go: the credentials, and the endpoint override (moto in tests)."""

    credentials: AwsCredentials
    endpoint_url: str | None = None
    max_attempts: int = 8


def explain(exc: Exception) -> AwsError:
    """Turn a botocore exception into an AwsError saying what went wrong."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or code
        operation = exc.operation_name
        if code in _BAD_CREDENTIALS:
            return AwsError(_BAD_CREDENTIALS[code], permanent=True, code=code)
        if operation == "AssumeRole" and code == "AccessDenied":
            return AwsError(
                "the role cannot be assumed: check that its trust policy names this server's "
                "principal and the external ID matches",
                permanent=True,
                code=code,
            )
        if code in _THROTTLED:
            return AwsError(
                f"AWS is throttling {operation}; try again later", permanent=False, code=code
            )
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            return AwsError(
                f"not allowed to call {operation}: {message}", permanent=True, code=code
            )
        return AwsError(f"{operation} failed: {message}", permanent=False, code=code)
    if isinstance(exc, EndpointConnectionError):
        return AwsError(f"AWS cannot be reached: {exc}", permanent=False)
    if isinstance(exc, BotoCoreError):
        return AwsError(f"AWS call failed: {exc}", permanent=False)
    return AwsError(f"AWS call failed: {exc}", permanent=False)


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking boto3 call in a worker thread; failures come back as AwsError."""

    def call() -> T:
        try:
            return fn(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise explain(exc) from exc

    return await asyncio.to_thread(call)


# Assumed-role sessions, cached per role so repeated calls do not each pay an AssumeRole;
# botocore renews them itself shortly before they expire (RefreshableCredentials).
_role_sessions: dict[tuple[str, str | None, str | None], boto3.Session] = {}
_role_lock = threading.Lock()


def _client_config(target: AwsTarget, region: str) -> Config:
    # Adaptive retries back off on throttling with a client-side rate limiter.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html
    return Config(
        region_name=region,
        retries={"mode": "adaptive", "max_attempts": target.max_attempts},
        connect_timeout=10,
        read_timeout=30,
        max_pool_connections=20,
    )


def _key_session(credentials: AwsCredentials) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
    )


def _role_session(target: AwsTarget) -> boto3.Session:
    credentials = target.credentials
    key = (credentials.role_arn or "", credentials.external_id, target.endpoint_url)
    with _role_lock:
        cached = _role_sessions.get(key)
        if cached is not None:
            return cached

    # The server's own identity (environment, instance profile) is what assumes the role.
    sts = boto3.Session().client(
        "sts", endpoint_url=target.endpoint_url, config=_client_config(target, "us-east-1")
    )

    def assume() -> dict[str, str]:
        answer = sts.assume_role(
            RoleArn=credentials.role_arn,
            RoleSessionName=ROLE_SESSION_NAME,
            ExternalId=credentials.external_id,
            DurationSeconds=ROLE_SESSION_SECONDS,
        )["Credentials"]
        expiry = answer["Expiration"]
        if not isinstance(expiry, datetime):
            expiry = datetime.now(UTC) + timedelta(seconds=ROLE_SESSION_SECONDS)
        return {
            "access_key": answer["AccessKeyId"],
            "secret_key": answer["SecretAccessKey"],
            "token": answer["SessionToken"],
            "expiry_time": expiry.astimezone(UTC).isoformat(),
        }

    refreshable = RefreshableCredentials.create_from_metadata(
        metadata=assume(), refresh_using=assume, method="sts-assume-role"
    )
    botocore_session = get_session()
    # botocore has no public setter for refreshable credentials on a session.
    botocore_session._credentials = refreshable
    session = boto3.Session(botocore_session=botocore_session)
    with _role_lock:
        _role_sessions[key] = session
    return session


def forget_role_session(credentials: AwsCredentials) -> None:
    """Drop a cached role session (the account's credentials changed or were deleted)."""
    with _role_lock:
        for key in [key for key in _role_sessions if key[0] == credentials.role_arn]:
            del _role_sessions[key]


def client(target: AwsTarget, service: str, region: str) -> Any:
    """A boto3 client for one service in one region. Blocking: call it inside `run`."""
    if target.credentials.uses_role:
        session = _role_session(target)
    else:
        session = _key_session(target.credentials)
    return session.client(
        service, endpoint_url=target.endpoint_url, config=_client_config(target, region)
    )


# --- Connection test and discovery ---------------------------------------------------

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


# Clients are thread-safe and slow to build (each loads its service model), so discovery
# and tests reuse them per target, service and region; a role's client renews its own
# credentials through the cached role session.
_CLIENTS_KEPT = 256
_clients: dict[tuple[AwsTarget, str, str], Any] = {}
_clients_lock = threading.Lock()
_build_lock = threading.Lock()


def _client(target: AwsTarget, service: str, region: str) -> Any:
    key = (target, service, region)
    with _clients_lock:
        found = _clients.get(key)
    if found is not None:
        return found
    # Building clients from one session in several threads at once is not safe (a cached
    # role session is shared), so they are built one at a time; calls still run at once.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients
    with _build_lock:
        with _clients_lock:
            found = _clients.get(key)
        if found is not None:
            return found
        made = client(target, service, region)
    with _clients_lock:
        if len(_clients) >= _CLIENTS_KEPT:
            _clients.pop(next(iter(_clients)))
        _clients[key] = made
    return made


def forget_clients(credentials: AwsCredentials) -> None:
    """Drop cached clients (and a role's session) of these credentials."""
    forget_role_session(credentials)
    with _clients_lock:
        for key in [key for key in _clients if key[0].credentials == credentials]:
            del _clients[key]


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


def _identity(target: AwsTarget, region: str) -> Identity:
    answer = _client(target, "sts", region).get_caller_identity()
    return Identity(account_id=str(answer["Account"]), arn=str(answer["Arn"]))


async def identity(target: AwsTarget, *, region: str, fresh: bool = False) -> Identity:
    """Who the credentials are; a role is assumed first (anew when `fresh`)."""
    if fresh and target.credentials.uses_role:
        forget_clients(target.credentials)
    return await run(_identity, target, region)


def _feature_call(target: AwsTarget, region: str, service: str, operation: str, **kw: Any) -> None:
    getattr(_client(target, service, region), operation)(**kw)


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
    return exc.code in _BAD_CREDENTIALS or (
        exc.code == "AccessDenied" and str(exc).startswith("the role cannot be assumed")
    )


def _enabled_regions(target: AwsTarget, region: str) -> list[str]:
    answer = _client(target, "ec2", region).describe_regions(AllRegions=False)
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
    ec2 = _client(target, "ec2", region)
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
    rds = _client(target, "rds", region)
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
    functions = _client(target, "lambda", region)
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
    elb = _client(target, "elbv2", region)
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
    s3 = _client(target, "s3", region)
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


# --- Resource actions ----------------------------------------------------------------

# Start, stop and reboot of EC2 and RDS instances, and reading their state back. `provider_id`
# is what discovery stores: an EC2 instance id, and for RDS the DB instance identifier or its
# ARN (the action APIs take the identifier only).
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_StopDBInstance.html

# EC2 and RDS codes for "not in this state / not for this kind": AWS refused, retrying the
# same call cannot help, so the action fails with AWS's own reason.
_ACTION_REFUSED = {
    "IncorrectInstanceState",
    "IncorrectState",
    "UnsupportedOperation",
    "InvalidDBInstanceState",
    "InvalidDBInstanceStateFault",
    "InvalidDBClusterStateFault",
    "InvalidParameterCombination",
    "InvalidParameterValue",
}
_GONE = {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed", "DBInstanceNotFound"}
GONE_STATE = "terminated"


def _rds_identifier(provider_id: str) -> str:
    # arn:aws:rds:<region>:<account>:db:<identifier>
    if provider_id.startswith("arn:"):
        return provider_id.rsplit(":db:", 1)[-1]
    return provider_id


def _refused(exc: ClientError, action: str, what: str) -> AwsError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code in _ACTION_REFUSED or code in _GONE:
        message = str(error.get("Message", "")) or code
        reason = f"AWS refused to {action} this {what}: {message}"
        return AwsError(reason, permanent=True, code=code)
    return explain(exc)


def _ec2_action(target: AwsTarget, region: str, instance_id: str, action: str) -> str:
    ec2 = client(target, "ec2", region)
    try:
        if action == "reboot":
            ec2.reboot_instances(InstanceIds=[instance_id])
            return "running"
        call = ec2.start_instances if action == "start" else ec2.stop_instances
        changes = call(InstanceIds=[instance_id])[
            "StartingInstances" if action == "start" else "StoppingInstances"
        ]
    except ClientError as exc:
        raise _refused(exc, action, "instance") from exc
    return str(changes[0]["CurrentState"]["Name"]) if changes else "pending"


def _rds_action(target: AwsTarget, region: str, provider_id: str, action: str) -> str:
    rds = client(target, "rds", region)
    calls = {
        "start": rds.start_db_instance,
        "stop": rds.stop_db_instance,
        "reboot": rds.reboot_db_instance,
    }
    try:
        answer = calls[action](DBInstanceIdentifier=_rds_identifier(provider_id))
    except ClientError as exc:
        raise _refused(exc, action, "database") from exc
    return str(answer["DBInstance"]["DBInstanceStatus"])


def _ec2_state(target: AwsTarget, region: str, instance_id: str) -> str:
    ec2 = client(target, "ec2", region)
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE:
            return GONE_STATE
        raise
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            return str(instance["State"]["Name"])
    return GONE_STATE


def _rds_state(target: AwsTarget, region: str, provider_id: str) -> str:
    rds = client(target, "rds", region)
    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=_rds_identifier(provider_id))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE | {"DBInstanceNotFoundFault"}:
            return GONE_STATE
        raise
    instances = found.get("DBInstances", [])
    return str(instances[0]["DBInstanceStatus"]) if instances else GONE_STATE


_ACTIONS: dict[str, Callable[[AwsTarget, str, str, str], str]] = {
    "ec2_instance": _ec2_action,
    "rds_instance": _rds_action,
}
_STATES: dict[str, Callable[[AwsTarget, str, str], str]] = {
    "ec2_instance": _ec2_state,
    "rds_instance": _rds_state,
}


async def resource_action(
    target: AwsTarget, *, type: str, region: str, provider_id: str, action: str
) -> str:
    """Ask AWS to start, stop or reboot one resource; the state AWS reports right after.

    A refusal (wrong state, a kind of database AWS cannot stop) is a permanent AwsError
    whose message carries AWS's reason."""
    return await run(_ACTIONS[type], target, region, provider_id, action)


async def resource_state(target: AwsTarget, *, type: str, region: str, provider_id: str) -> str:
    """The resource's state as AWS describes it now; `terminated` when it no longer exists."""
    return await run(_STATES[type], target, region, provider_id)


# --- Cost Explorer -------------------------------------------------------------------

# GetCostAndUsage is billed per request ($0.01 each); Organizations and STS calls are free.
# https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html
# Cost Explorer is a global service answered from us-east-1.
COST_EXPLORER_REGION = "us-east-1"
COST_METRIC = "UnblendedCost"
_NO_ORGANIZATION = {
    "AWSOrganizationsNotInUseException",
    "AccessDeniedException",
    "AccessDenied",
}


def _is_organization_payer(target: AwsTarget) -> bool:
    # Identity first: refused credentials fail here with STS's clear error codes.
    identity = client(target, "sts", COST_EXPLORER_REGION).get_caller_identity()
    organizations = client(target, "organizations", COST_EXPLORER_REGION)
    try:
        organization = organizations.describe_organization()["Organization"]
    except ClientError as exc:
        # Not in an organization, or not allowed to ask (a member account usually is not):
        # either way its own costs are all Cost Explorer shows it.
        if exc.response.get("Error", {}).get("Code") in _NO_ORGANIZATION:
            return False
        raise
    return bool(organization.get("MasterAccountId") == identity["Account"])


async def is_organization_payer(target: AwsTarget) -> bool:
    """Whether the account is the management (payer) account of an AWS organization, whose
    Cost Explorer shows every member account's costs: DescribeOrganization names it as the
    master. Two free calls (Organizations, STS)."""
    return await run(_is_organization_payer, target)


def _cost_and_usage(
    target: AwsTarget, start: str, end: str, group_by: list[str], token: str | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": "DAILY",
        "Metrics": [COST_METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": key} for key in group_by],
    }
    if token:
        params["NextPageToken"] = token
    explorer = client(target, "ce", COST_EXPLORER_REGION)
    answer: dict[str, Any] = explorer.get_cost_and_usage(**params)
    return answer


async def cost_and_usage_page(
    target: AwsTarget, *, start: str, end: str, group_by: list[str], token: str | None = None
) -> dict[str, Any]:
    """One page of daily unblended costs from `start` to `end` (ISO days, end exclusive),
    grouped by the dimensions in `group_by` (at most two, e.g. LINKED_ACCOUNT and SERVICE):
    Cost Explorer's answer as is ({"ResultsByTime": [...], "NextPageToken"?}). One billed
    request; the caller loops on NextPageToken."""
    return await run(_cost_and_usage, target, start, end, group_by, token)
