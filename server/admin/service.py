"""Platform administration of organizations: list, read, change plan, status and granted
modules, delete. Plans are in server/admin/plans.py, figures in stats.py, impersonation in
impersonation.py. Every change is audited in the organization it concerns.

Suspending an organization (status `suspended`):
1. Every token of it is refused with 403 from the next request: access tokens, API keys and
   agent tokens alike (server/auth/principal.py, server/agents/tokens.py read the status).
2. Its monitors are not checked: the check engine loads and keeps only monitors of active
   organizations. Their updated_at is touched so the engine's poll sees the change within
   a second; reactivating touches them again and they are due at once.
3. Its public status pages answer "suspended" (server/status_pages/public.py); the pages
   already rendered are dropped from the cache once the change commits.
"""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.admin import usage
from server.audit import service as audit
from server.billing.models import Plan
from server.billing.plans import modules_of
from server.db import paging
from server.db.base import utcnow
from server.db.text_match import containing
from server.http.errors import BadRequest, Conflict, NotFound
from server.monitors.models import Monitor
from server.orgs.models import Organization
from server.service_context import Context, Wake
from shared.api.admin import (
    AdminOrgDelete,
    AdminOrgQuery,
    AdminOrgRead,
    AdminOrgUpdate,
    DowngradePreview,
    OrgStatus,
)
from shared.api.billing import Limit
from shared.api.common import Page

RESOURCE = "organization"


def org_read(org: Organization, plan: Plan, counts: dict[Limit, int]) -> AdminOrgRead:
    return AdminOrgRead(
        id=org.id,
        name=org.name,
        slug=org.slug,
        plan=plan.code,
        plan_name=plan.name,
        status=OrgStatus(org.status),
        modules=modules_of(org, plan),
        extra_modules=sorted(org.extra_modules or []),
        usage=usage.usage_of(counts, plan),
        created_at=org.created_at,
    )


async def org_and_plan(db: AsyncSession, org_id: int) -> tuple[Organization, Plan]:
    row = (
        await db.execute(
            select(Organization, Plan)
            .join(Plan, Plan.id == Organization.plan_id)
            .where(Organization.id == org_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Organization not found")
    return row[0], row[1]


async def plan_by_code(db: AsyncSession, code: str, *, field: str) -> Plan:
    """The plan of that code; an unknown code is a 400 naming the field it came in."""
    plan = await db.scalar(select(Plan).where(Plan.code == code))
    if plan is None:
        raise BadRequest(f"{field}: no plan {code!r}")
    return plan


async def list_orgs(db: AsyncSession, *, query: AdminOrgQuery) -> Page[AdminOrgRead]:
    """Every organization by name, with its plan and usage (usage counted for the page only)."""
    statement = select(Organization, Plan).join(Plan, Plan.id == Organization.plan_id)
    if query.q:
        like = containing(query.q)
        statement = statement.where(
            or_(
                func.lower(Organization.name).like(like, escape="\\"),
                Organization.slug.like(like, escape="\\"),
            )
        )
    if query.status is not None:
        statement = statement.where(Organization.status == query.status.value)
    if query.plan is not None:
        statement = statement.where(Plan.code == query.plan)
    statement = statement.order_by(func.lower(Organization.name), Organization.id)
    total = await paging.count_of(db, statement)
    rows = (await db.execute(paging.window(statement, query))).all()
    counts = await usage.counts_of(db, [org.id for org, _ in rows])
    items = [org_read(org, plan, counts[org.id]) for org, plan in rows]
    return paging.paged(Page[AdminOrgRead], items, total, query)


async def get_org(db: AsyncSession, *, org_id: int) -> AdminOrgRead:
    org, plan = await org_and_plan(db, org_id)
    counts = await usage.counts_of(db, [org.id])
    return org_read(org, plan, counts[org.id])


def _not_own(ctx: Context, org_id: int, what: str) -> None:
    """An admin does not suspend or delete the organization they are signed in to: the
    request that did it would be their last (their own token gets 403 at once)."""
    if ctx.auth.org_id == org_id:
        raise Conflict(f"You cannot {what} the organization you are signed in to")


async def update_org(ctx: Context, *, org_id: int, data: AdminOrgUpdate) -> AdminOrgRead:
    db = ctx.db
    org, plan = await org_and_plan(db, org_id)
    changed: list[str] = []
    if data.plan is not None and data.plan != plan.code:
        plan = await plan_by_code(db, data.plan, field="body field 'plan'")
        org.plan_id = plan.id
        changed.append(f"plan {data.plan}")
    if data.modules is not None:
        modules = sorted({str(module) for module in data.modules})
        if modules != sorted(org.extra_modules or []):
            org.extra_modules = modules
            changed.append(f"granted modules [{', '.join(modules)}]")
    verb = "updated"
    if data.status is not None and data.status.value != org.status:
        if data.status is OrgStatus.suspended:
            _not_own(ctx, org_id, "suspend")
        org.status = data.status.value
        changed.append(f"status {org.status}")
        verb = "suspended" if data.status is OrgStatus.suspended else "reactivated"
        await _status_changed(ctx, org_id)
    if changed:
        await db.flush()
        await audit.record(
            ctx, action=f"admin.organization.{verb}", resource_type=RESOURCE,
            resource_id=org.id, org_id=org.id, detail=f"{org.slug}: {'; '.join(changed)}",
        )  # fmt: skip
    return await get_org(db, org_id=org_id)


async def _status_changed(ctx: Context, org_id: int) -> None:
    """Make the check engine and the status page cache see the change (module docstring)."""
    await ctx.db.execute(
        update(Monitor)
        .where(Monitor.org_id == org_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    ctx.wake(Wake.checks)
    cache = ctx.shared.page_cache
    ctx.after_commit(lambda: cache.forget_org(org_id))


async def delete_org(ctx: Context, *, org_id: int, data: AdminOrgDelete) -> None:
    """Delete the organization and, by the foreign keys' cascades, everything it holds. Its
    users stay (they may belong to other organizations); its audit entries stay too."""
    org, _ = await org_and_plan(ctx.db, org_id)
    if data.confirm != org.slug:
        raise BadRequest(f"body field 'confirm': type the organization's slug ({org.slug!r})")
    _not_own(ctx, org_id, "delete")
    cache = ctx.shared.page_cache
    await ctx.db.execute(delete(Organization).where(Organization.id == org_id))
    ctx.after_commit(lambda: cache.forget_org(org_id))
    detail = f"{org.slug} ({org.name!r}) deleted with everything it held"
    for in_org in (org_id, ctx.auth.org_id):
        await audit.record(
            ctx, action="admin.organization.deleted", resource_type=RESOURCE,
            resource_id=org_id, org_id=in_org, detail=detail,
        )  # fmt: skip


async def downgrade_preview(db: AsyncSession, *, org_id: int, plan_code: str) -> DowngradePreview:
    org, current = await org_and_plan(db, org_id)
    new = await plan_by_code(db, plan_code, field="query field 'plan'")
    return await usage.downgrade_preview(db, org, current, new)
