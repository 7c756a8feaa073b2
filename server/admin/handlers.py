"""HTTP handlers for /admin (platform admins): parse -> call service -> serialize."""

from __future__ import annotations

from server.admin import impersonation, plans, stats
from server.admin import service as admin
from server.http.routing import Call
from shared.api.admin import AdminOrgRead, AdminStats, DowngradePreview, ImpersonationToken
from shared.api.billing import PlanRead
from shared.api.common import Page


async def list_orgs(call: Call) -> Page[AdminOrgRead]:
    """GET /admin/organizations"""
    return await admin.list_orgs(call.db, query=call.query)


async def get_org(call: Call) -> AdminOrgRead:
    """GET /admin/organizations/{id}"""
    return await admin.get_org(call.db, org_id=call.path["id"])


async def update_org(call: Call) -> AdminOrgRead:
    """PATCH /admin/organizations/{id}"""
    return await admin.update_org(call.ctx, org_id=call.path["id"], data=call.body)


async def delete_org(call: Call) -> None:
    """DELETE /admin/organizations/{id}"""
    await admin.delete_org(call.ctx, org_id=call.path["id"], data=call.body)


async def impersonate(call: Call) -> ImpersonationToken:
    """POST /admin/organizations/{id}/impersonate"""
    return await impersonation.impersonate(call.ctx, org_id=call.path["id"], data=call.body)


async def downgrade_preview(call: Call) -> DowngradePreview:
    """GET /admin/organizations/{id}/downgrade-preview"""
    return await admin.downgrade_preview(call.db, org_id=call.path["id"], plan_code=call.query.plan)


async def list_plans(call: Call) -> list[PlanRead]:
    """GET /admin/plans"""
    return await plans.list_plans(call.db)


async def create_plan(call: Call) -> PlanRead:
    """POST /admin/plans"""
    return await plans.create_plan(call.ctx, data=call.body)


async def update_plan(call: Call) -> PlanRead:
    """PATCH /admin/plans/{id}"""
    return await plans.update_plan(call.ctx, plan_id=call.path["id"], data=call.body)


async def platform_stats(call: Call) -> AdminStats:
    """GET /admin/stats"""
    return await stats.platform_stats(call.db)
