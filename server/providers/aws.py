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
