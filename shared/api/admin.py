"""Platform administration (`/admin`): every organization, the plans, the platform's figures,
and read-only impersonation. Platform admins only (a user flag, not an org role)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from shared.api.billing import Limit, Module, PlanRead
from shared.api.common import ApiModel, Name, OneLine, ReadModel, UpdateModel, UtcDatetime

PlanCode = Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Cents = Annotated[int, Field(ge=0, le=100_000_000)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
# A limit's value: a count, seconds or days; null is unlimited.
LimitValue = Annotated[int, Field(ge=0, le=1_000_000_000)] | None
# Short on purpose: a support session, not a standing grant.
MAX_IMPERSONATION_MINUTES = 30


class OrgStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class UsageItem(ReadModel):
    """One plan limit: what the organization uses and what its plan allows (null: unlimited)."""

    limit: Limit
    current: int
    allowed: int | None


class AdminOrgRead(ReadModel):
    id: int
    name: str
    slug: str
    plan: str  # the plan's code
    plan_name: str
    status: OrgStatus
    modules: list[str]  # the plan's and the granted ones
    extra_modules: list[str]  # granted on top of the plan by a platform admin
    usage: list[UsageItem]
    created_at: UtcDatetime


class AdminOrgQuery(ApiModel):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=200)
    q: str | None = Field(None, max_length=200, description="matches the name or the slug")
    status: OrgStatus | None = None
    plan: str | None = Field(None, max_length=40, description="a plan's code")


class AdminOrgUpdate(UpdateModel):
    not_null: ClassVar[frozenset[str]] = frozenset({"plan", "status", "modules"})

    plan: PlanCode | None = None
    status: OrgStatus | None = None
    modules: list[Module] | None = Field(
        None, max_length=10, description="modules granted on top of the plan (replaces the list)"
    )


class AdminOrgDelete(ApiModel):
    confirm: str = Field(max_length=63, description="the organization's slug, typed again")


class PlanCreate(ApiModel):
    code: PlanCode
    name: Name
    price_month_cents: Cents = 0
    price_year_cents: Cents = 0
    currency: Currency = "USD"
    limits: dict[Limit, LimitValue] = Field(default_factory=dict)
    modules: list[Module] = Field(default_factory=list, max_length=10)


class PlanUpdate(UpdateModel):
    not_null: ClassVar[frozenset[str]] = frozenset(
        {"name", "price_month_cents", "price_year_cents", "currency", "limits", "modules"}
    )

    name: Name | None = None
    price_month_cents: Cents | None = None
    price_year_cents: Cents | None = None
    currency: Currency | None = None
    limits: dict[Limit, LimitValue] | None = Field(
        None, description="the limits named change; the others stay"
    )
    modules: list[Module] | None = Field(None, max_length=10)


class AdminStats(ReadModel):
    organizations: int
    organizations_suspended: int
    users: int
    monitors: int
    monitors_active: int  # not paused, in an active organization
    checks_per_minute: float  # over the last complete minutes' rollups
    due_monitors: int  # active monitors whose next check time has passed
    pending_jobs: int  # queued or running background jobs
    pending_deliveries: int  # notification deliveries not yet sent


class ImpersonationCreate(ApiModel):
    reason: Annotated[OneLine, Field(min_length=3, max_length=500)]
    minutes: int = Field(15, ge=1, le=MAX_IMPERSONATION_MINUTES)


class ImpersonationToken(ReadModel):
    access_token: str
    token_type: str = "bearer"
    organization_id: int
    expires_at: UtcDatetime
    read_only: bool = True


class LimitExcess(ReadModel):
    limit: Limit
    current: int
    new_limit: int


class DowngradePreview(ReadModel):
    organization_id: int
    plan: str
    exceeded: list[LimitExcess]  # the limits the organization would be over
    modules_lost: list[str]  # modules it has now and would not have (grants are kept)
    ok: bool  # nothing exceeded and nothing lost


class DowngradeQuery(ApiModel):
    plan: PlanCode


__all__ = [
    "AdminOrgDelete",
    "AdminOrgQuery",
    "AdminOrgRead",
    "AdminOrgUpdate",
    "AdminStats",
    "DowngradePreview",
    "DowngradeQuery",
    "ImpersonationCreate",
    "ImpersonationToken",
    "LimitExcess",
    "OrgStatus",
    "PlanCreate",
    "PlanRead",
    "PlanUpdate",
    "UsageItem",
]
