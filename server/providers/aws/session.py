"""Credentials, sessions, clients and errors that every AWS call shares."""

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
from botocore.parsers import ResponseParserError
from botocore.session import get_session

T = TypeVar("T")

ROLE_SESSION_NAME = "upmetr"
ROLE_SESSION_SECONDS = 3600

# Error codes that mean the credentials themselves are wrong: retrying cannot help.
BAD_CREDENTIALS = {
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
        if code in BAD_CREDENTIALS:
            return AwsError(BAD_CREDENTIALS[code], permanent=True, code=code)
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
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            # An answer botocore cannot parse (an HTML error page from a proxy or an
            # endpoint that is not AWS) is a failed call too, not a 500 of ours.
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


def _new_client(target: AwsTarget, service: str, region: str) -> Any:
    if target.credentials.uses_role:
        session = _role_session(target)
    else:
        session = _key_session(target.credentials)
    return session.client(
        service, endpoint_url=target.endpoint_url, config=_client_config(target, region)
    )


# Clients are thread-safe and slow to build (each loads its service model), so discovery
# and tests reuse them per target, service and region; a role's client renews its own
# credentials through the cached role session.
_CLIENTS_KEPT = 256
_clients: dict[tuple[AwsTarget, str, str], Any] = {}
_clients_lock = threading.Lock()
_build_lock = threading.Lock()


def client(target: AwsTarget, service: str, region: str) -> Any:
    """A boto3 client for one service in one region. Blocking: call it inside `run`."""
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
        made = _new_client(target, service, region)
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
