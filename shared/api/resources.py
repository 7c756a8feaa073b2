"""Cloud resources found by discovery, and the actions users take on them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from shared.api.common import ApiModel, PageQuery, ReadModel, UtcDatetime


class ResourceType(StrEnum):
    ec2_instance = "ec2_instance"
    rds_instance = "rds_instance"
    lambda_function = "lambda_function"
    s3_bucket = "s3_bucket"
    load_balancer = "load_balancer"


class ResourceActionName(StrEnum):
    start = "start"
    stop = "stop"
    reboot = "reboot"


class ActionStatus(StrEnum):
    pending = "pending"
    running = "running"  # accepted by the provider; the state is being followed
    succeeded = "succeeded"
    failed = "failed"


RESOURCE_SORTS = ("name", "type", "state", "region", "account_id", "last_seen_at", "id")


class ResourceQuery(PageQuery):
    account_id: int | None = None
    provider: str | None = Field(None, max_length=20)
    type: ResourceType | None = None
    region: str | None = Field(None, max_length=30)
    state: str | None = Field(None, max_length=30)
    tag: str | None = Field(None, max_length=400, description="key:value (or key alone)")
    q: str | None = Field(None, max_length=200, description="name or provider id contains")
    sort: str = Field(
        "name",
        description="one of " + ", ".join(RESOURCE_SORTS) + "; -desc",
        json_schema_extra={"pattern": f"^-?({'|'.join(RESOURCE_SORTS)})$"},
    )

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        if value.removeprefix("-") not in RESOURCE_SORTS:
            raise ValueError("must be one of " + ", ".join(RESOURCE_SORTS) + ", or -field")
        return value


class ResourceRead(ReadModel):
    id: int
    account_id: int
    account_name: str
    provider: str
    provider_id: str
    type: ResourceType
    name: str
    state: str
    size: str | None
    region: str
    tags: dict[str, str]
    discovered_at: UtcDatetime
    last_seen_at: UtcDatetime
    state_changed_at: UtcDatetime
    terminated_at: UtcDatetime | None


class ResourceDetail(ResourceRead):
    metadata: dict[str, Any] = Field(description="provider metadata as discovered")
    actions: list[ResourceActionName] = Field(description="actions this resource supports now")


class CountItem(ReadModel):
    key: str
    count: int


class AccountCount(ReadModel):
    account_id: int
    name: str
    count: int


class ResourceSummary(ReadModel):
    """Counts of resources that exist (terminated ones are counted apart)."""

    total: int
    terminated: int = 0
    by_type: list[CountItem]
    by_state: list[CountItem]
    by_region: list[CountItem]
    by_account: list[AccountCount]


class ResourceTypeCount(ReadModel):
    type: ResourceType
    count: int


class ResourceActionRead(ReadModel):
    id: int
    resource_id: int
    action: ResourceActionName
    status: ActionStatus
    actor: str
    from_state: str | None
    to_state: str | None
    detail: str | None
    requested_at: UtcDatetime
    finished_at: UtcDatetime | None


class BulkResourceAction(ApiModel):
    ids: list[int] = Field(min_length=1, max_length=100)
    action: ResourceActionName


class BulkResourceOutcome(ReadModel):
    id: int
    ok: bool
    detail: str
    action_id: int | None = None
