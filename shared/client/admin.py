"""The `admin` namespace (`/admin`): platform administration, for platform admins only.
Kept in the `endpoint` style of agents.py."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping

from shared.api.admin import (
    AdminOrgRead,
    AdminStats,
    DowngradePreview,
    ImpersonationToken,
    OrgStatus,
)
from shared.api.billing import Module, PlanRead
from shared.api.common import Page
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint

ORGS = "/admin/organizations"
PLANS = "/admin/plans"


def _org(org_id: int) -> str:
    return f"{ORGS}/{int(org_id)}"


class Admin(Namespace[M]):
    """Every organization, the plans, the platform's figures and read-only impersonation."""

    @endpoint
    def organizations(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        q: str | None = None,
        status: OrgStatus | str | None = None,
        plan: str | None = None,
    ) -> Call[Page[AdminOrgRead]]:
        """`q` matches the name or the slug; `plan` is a plan's code."""
        return Call(
            "GET",
            ORGS,
            parse_as(Page[AdminOrgRead]),
            params=query(page=page, per_page=per_page, q=q, status=status, plan=plan),
        )

    @endpoint
    def organization(self, org_id: int) -> Call[AdminOrgRead]:
        return Call("GET", _org(org_id), parse_as(AdminOrgRead))

    @endpoint
    def update_organization(
        self,
        org_id: int,
        *,
        plan: str | None = None,
        status: OrgStatus | str | None = None,
        modules: Iterable[Module | str] | None = None,
    ) -> Call[AdminOrgRead]:
        """Change what is given; `modules` replaces the modules granted on top of the plan."""
        fields = body(
            plan=plan,
            status=status,
            modules=None if modules is None else builtins.list(modules),
        )
        return Call("PATCH", _org(org_id), parse_as(AdminOrgRead), json=fields)

    @endpoint
    def suspend(self, org_id: int) -> Call[AdminOrgRead]:
        """Every token of the organization gets 403 at once; its checks pause."""
        return Call("PATCH", _org(org_id), parse_as(AdminOrgRead), json={"status": "suspended"})

    @endpoint
    def reactivate(self, org_id: int) -> Call[AdminOrgRead]:
        return Call("PATCH", _org(org_id), parse_as(AdminOrgRead), json={"status": "active"})

    @endpoint
    def delete_organization(self, org_id: int, *, confirm: str) -> Call[None]:
        """Deletes the organization with everything it holds; `confirm` is its slug."""
        return Call("DELETE", _org(org_id), no_content, json={"confirm": confirm})

    @endpoint
    def impersonate(
        self, org_id: int, *, reason: str, minutes: int = 15
    ) -> Call[ImpersonationToken]:
        """A read-only access token for the organization (at most 30 minutes)."""
        fields = body(reason=reason, minutes=minutes)
        return Call(
            "POST", f"{_org(org_id)}/impersonate", parse_as(ImpersonationToken), json=fields
        )

    @endpoint
    def downgrade_preview(self, org_id: int, *, plan: str) -> Call[DowngradePreview]:
        return Call(
            "GET",
            f"{_org(org_id)}/downgrade-preview",
            parse_as(DowngradePreview),
            params=query(plan=plan),
        )

    @endpoint
    def plans(self) -> Call[list[PlanRead]]:
        return Call("GET", PLANS, parse_as(list[PlanRead]))

    @endpoint
    def create_plan(
        self,
        *,
        code: str,
        name: str,
        price_month_cents: int | None = None,
        price_year_cents: int | None = None,
        currency: str | None = None,
        limits: Mapping[str, int | None] | None = None,
        modules: Iterable[Module | str] | None = None,
    ) -> Call[PlanRead]:
        """A limit left out or None is unlimited."""
        fields = body(
            code=code,
            name=name,
            price_month_cents=price_month_cents,
            price_year_cents=price_year_cents,
            currency=currency,
            modules=None if modules is None else builtins.list(modules),
        )
        if limits is not None:
            fields["limits"] = dict(limits)  # None is a value here (unlimited)
        return Call("POST", PLANS, parse_as(PlanRead), json=fields)

    @endpoint
    def update_plan(
        self,
        plan_id: int,
        *,
        name: str | None = None,
        price_month_cents: int | None = None,
        price_year_cents: int | None = None,
        currency: str | None = None,
        limits: Mapping[str, int | None] | None = None,
        modules: Iterable[Module | str] | None = None,
    ) -> Call[PlanRead]:
        """Change what is given; `limits` changes the limits it names and keeps the others."""
        fields = body(
            name=name,
            price_month_cents=price_month_cents,
            price_year_cents=price_year_cents,
            currency=currency,
            modules=None if modules is None else builtins.list(modules),
        )
        if limits is not None:
            fields["limits"] = dict(limits)
        return Call("PATCH", f"{PLANS}/{int(plan_id)}", parse_as(PlanRead), json=fields)

    @endpoint
    def stats(self) -> Call[AdminStats]:
        return Call("GET", "/admin/stats", parse_as(AdminStats))
