"""Cloud accounts: provider credentials (write-only), regions, connection tests."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag

from shared.api.common import ApiModel, Name, ReadModel, Secret, UpdateModel, UtcDatetime


class CloudProvider(StrEnum):
    aws = "aws"
    gcp = "gcp"
    azure = "azure"
    digitalocean = "digitalocean"


class AccountStatus(StrEnum):
    pending = "pending"  # not tested yet
    ok = "ok"
    error = "error"


# An AWS region's shape (us-east-1, us-gov-west-1, ap-southeast-2): "p" is refused here
# rather than sent to AWS.
Region = Annotated[
    str, Field(min_length=1, max_length=30, pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")
]


class AwsRoleCredentials(ApiModel):
    """An IAM role Upmetr assumes with STS; the external ID guards against confused deputies."""

    role_arn: str = Field(
        max_length=2048, pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]+$"
    )
    external_id: str = Field(min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9+=,.@:/_-]+$")


class AwsKeyCredentials(ApiModel):
    access_key_id: str = Field(min_length=16, max_length=128, pattern=r"^[A-Z0-9]+$")
    secret_access_key: Secret


def _credential_kind(value: Any) -> str:
    """Which shape was meant, so a validation error names the field of that shape (a
    plain union reported a missing `role_arn` for a malformed key pair)."""
    if isinstance(value, dict):
        return "role" if {"role_arn", "external_id"} & value.keys() else "keys"
    return "role" if isinstance(value, AwsRoleCredentials) else "keys"


# Only AWS is served today; other providers will add their credential shapes here.
Credentials = Annotated[
    Annotated[AwsRoleCredentials, Tag("role")] | Annotated[AwsKeyCredentials, Tag("keys")],
    Discriminator(_credential_kind),
]


# What an account can be added for: the other providers are named in the enum (and
# refused with a 400 saying so), but the document offers only the one served.
ServedProvider = Annotated[CloudProvider, Field(json_schema_extra={"enum": [CloudProvider.aws]})]


class CloudAccountCreate(ApiModel):
    name: Name
    provider: ServedProvider
    credentials: Credentials
    default_region: Region = "us-east-1"
    regions: list[Region] | None = Field(
        None, max_length=40, description="regions to discover; default: every enabled region"
    )
    cloudwatch_enabled: bool = False


class CloudAccountUpdate(UpdateModel):
    """Every field optional; new credentials replace the stored ones."""

    name: Name | None = None
    credentials: Credentials | None = None
    default_region: Region | None = None
    regions: list[Region] | None = Field(None, max_length=40)
    cloudwatch_enabled: bool | None = None


class CloudAccountRead(ReadModel):
    id: int
    name: str
    provider: CloudProvider
    auth_method: str = Field(description="role or keys")
    credentials_hint: str = Field(description="masked, e.g. ****ab12; never the secret")
    default_region: str
    regions: list[str]
    cloudwatch_enabled: bool
    external_account_id: str | None = Field(description="the provider's account id")
    status: AccountStatus
    status_detail: str | None
    last_tested_at: UtcDatetime | None
    last_discovered_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ConnectionTestRequest(ApiModel):
    """Unsaved credentials to try before creating an account."""

    provider: ServedProvider
    credentials: Credentials
    default_region: Region = "us-east-1"


class PermissionCheck(ReadModel):
    feature: str = Field(description="e.g. discovery:ec2, costs, actions")
    ok: bool
    detail: str
    checked: bool = Field(True, description="false when not called (a paid API), see detail")


class ConnectionTestResult(ReadModel):
    ok: bool
    account_id: str | None = Field(description="the provider's account id when identity is proven")
    detail: str
    permissions: list[PermissionCheck] = Field(default_factory=list)
