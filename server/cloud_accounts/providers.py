"""The provider interface: what the cloud accounts and discovery need from a cloud.

Each cloud is one class implementing `Provider` (AWS below, over server/providers/aws/);
GCP, Azure and DigitalOcean each become one more module registered in `provider_for`.
Providers take the decrypted credentials as a dict, never touch the database, and raise
`ProviderError` (with `permanent` and `credentials`) for failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from server.config import Settings
from server.providers import aws


class ProviderError(Exception):
    """A failed provider call, in words a user can act on.

    `permanent`: retrying cannot help; `credentials`: the credentials themselves are
    refused, so the account is in error until they change."""

    def __init__(self, message: str, *, permanent: bool, credentials: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.credentials = credentials


class ProviderUnavailable(Exception):
    """The provider is known to the API but not served yet."""


@dataclass(frozen=True)
class Permission:
    feature: str
    ok: bool
    detail: str
    checked: bool = True


@dataclass(frozen=True)
class ConnectionReport:
    """A connection test: identity first, then read access per feature."""

    ok: bool
    account_id: str | None
    detail: str
    permissions: list[Permission] = field(default_factory=list)
    credentials_refused: bool = False


@dataclass(frozen=True)
class Unit:
    """One piece of a discovery: a service in a region (or a global service, listed once)."""

    service: str
    region: str
    resource_type: str
    global_service: bool = False

    @property
    def label(self) -> str:
        return self.service if self.global_service else f"{self.service}/{self.region}"


class Provider(Protocol):
    name: str

    async def test_connection(
        self, credentials: dict[str, str], *, region: str
    ) -> ConnectionReport: ...

    async def identity(self, credentials: dict[str, str], *, region: str) -> str:
        """The provider's account id; ProviderError when the credentials do not work."""

    async def regions(self, credentials: dict[str, str], *, region: str) -> list[str]:
        """Regions to discover when the account names none."""

    def units(self, regions: list[str], *, default_region: str) -> list[Unit]: ...

    async def discover(self, credentials: dict[str, str], unit: Unit) -> list[dict[str, Any]]:
        """Resources of one unit: {provider_id, type, name, state, size, region, tags, metadata}."""

    def forget(self, credentials: dict[str, str]) -> None:
        """Drop cached sessions of these credentials (changed or deleted)."""


def _error(exc: aws.AwsError) -> ProviderError:
    return ProviderError(
        str(exc), permanent=exc.permanent, credentials=aws.is_credential_error(exc)
    )


class AwsProvider:
    name = "aws"

    def __init__(self, *, endpoint_url: str | None, max_attempts: int) -> None:
        self._endpoint_url = endpoint_url
        self._max_attempts = max_attempts

    def _target(self, credentials: dict[str, str], *, attempts: int | None = None) -> aws.AwsTarget:
        return aws.AwsTarget(
            credentials=aws.AwsCredentials.from_dict(credentials),
            endpoint_url=self._endpoint_url,
            max_attempts=attempts or self._max_attempts,
        )

    async def test_connection(
        self, credentials: dict[str, str], *, region: str
    ) -> ConnectionReport:
        """1. Prove identity with STS GetCallerIdentity; a role is assumed anew first, so
              a role whose trust policy changed is caught now, not at its session's expiry.
           2. If that fails, report why (and whether the credentials themselves are refused).
           3. Else one free read call per feature; missing permissions are named.
        A person is waiting: calls retry twice at most."""
        target = self._target(credentials, attempts=2)
        try:
            who = await aws.identity(target, region=region, fresh=True)
        except aws.AwsError as exc:
            return ConnectionReport(
                ok=False,
                account_id=None,
                detail=f"Could not connect: {exc}",
                credentials_refused=aws.is_credential_error(exc),
            )
        checks = await aws.check_features(target, region=region)
        permissions = [Permission(c.feature, c.ok, c.detail, c.checked) for c in checks]
        missing = [p.feature for p in permissions if not p.ok]
        detail = f"Connected to AWS account {who.account_id} as {who.arn}"
        if missing:
            detail += "; not readable: " + ", ".join(missing)
        else:
            detail += "; every feature checked is readable"
        return ConnectionReport(
            ok=not missing, account_id=who.account_id, detail=detail, permissions=permissions
        )

    async def identity(self, credentials: dict[str, str], *, region: str) -> str:
        try:
            return (await aws.identity(self._target(credentials), region=region)).account_id
        except aws.AwsError as exc:
            raise _error(exc) from exc

    async def regions(self, credentials: dict[str, str], *, region: str) -> list[str]:
        try:
            return await aws.enabled_regions(self._target(credentials), region=region)
        except aws.AwsError as exc:
            raise _error(exc) from exc

    def units(self, regions: list[str], *, default_region: str) -> list[Unit]:
        regional = [
            Unit(service, region, aws.SERVICE_TYPES[service])
            for region in regions
            for service in aws.REGIONAL_SERVICES
        ]
        listed_once = [
            Unit(service, default_region, aws.SERVICE_TYPES[service], global_service=True)
            for service in aws.GLOBAL_SERVICES
        ]
        return regional + listed_once

    async def discover(self, credentials: dict[str, str], unit: Unit) -> list[dict[str, Any]]:
        try:
            return await aws.discover(
                self._target(credentials), service=unit.service, region=unit.region
            )
        except aws.AwsError as exc:
            raise _error(exc) from exc

    def forget(self, credentials: dict[str, str]) -> None:
        aws.forget_clients(aws.AwsCredentials.from_dict(credentials))


def provider_for(name: str, settings: Settings) -> Provider:
    """The provider named `name`; ProviderUnavailable for a cloud not served yet."""
    if name == "aws":
        return AwsProvider(
            endpoint_url=settings.aws_endpoint_url, max_attempts=settings.aws_max_attempts
        )
    raise ProviderUnavailable(
        f"provider: {name} is not available yet; only aws accounts can be added for now"
    )


def credentials_hint(credentials: dict[str, str]) -> str:
    """`****ab12`: the last four characters of the access key id, or of the role ARN."""
    visible = credentials.get("access_key_id") or credentials.get("role_arn") or ""
    return "****" + visible[-4:]


def auth_method(credentials: dict[str, str]) -> str:
    return "role" if credentials.get("role_arn") else "keys"
