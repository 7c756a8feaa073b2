"""Organizations: creation, lookup, branding and settings rules."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.billing.models import Plan
from server.billing.plans import check_minimum, org_plan, require_module
from server.http.errors import Conflict, NotFound
from server.http.uploads import Upload
from server.orgs.models import Membership, Organization
from server.service_context import Context
from shared.api.billing import Limit, Module
from shared.api.common import Role
from shared.api.orgs import OrganizationRead, OrganizationUpdate, SettingsRead, SettingsUpdate

_BRAND_FIELDS = frozenset({"brand_name", "brand_primary_color", "brand_accent_color"})


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-")
    return slug or "org"


async def _free_slug(db: AsyncSession, name: str) -> str:
    base = slugify(name)
    slug = base
    while (await db.execute(select(Organization.id).where(Organization.slug == slug))).first():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


async def create_organization(
    db: AsyncSession, *, name: str, plan_code: str, owner_id: int
) -> Organization:
    """A new organization on `plan_code`, with `owner_id` as its superadmin."""
    plan_id = (await db.execute(select(Plan.id).where(Plan.code == plan_code))).scalar_one()
    org = Organization(
        name=name, slug=await _free_slug(db, name), plan_id=plan_id, extra_modules=[], settings={}
    )
    db.add(org)
    await db.flush()
    db.add(Membership(user_id=owner_id, org_id=org.id, role=Role.superadmin.value))
    await db.flush()
    return org


async def _organization(db: AsyncSession, org_id: int) -> Organization:
    org = await db.get(Organization, org_id)
    if org is None:  # pragma: no cover - the principal's org was just checked
        raise NotFound("Organization not found")
    return org


def _read(org: Organization, plan: Plan) -> OrganizationRead:
    return OrganizationRead(
        id=org.id,
        name=org.name,
        slug=org.slug,
        plan=plan.code,
        status=org.status,
        brand_name=org.brand_name,
        brand_primary_color=org.brand_primary_color,
        brand_accent_color=org.brand_accent_color,
        has_logo=org.logo_content_type is not None,
        created_at=org.created_at,
    )


async def get_organization(db: AsyncSession, *, org_id: int) -> OrganizationRead:
    org, plan = await org_plan(db, org_id)
    return _read(org, plan)


async def update_organization(ctx: Context, *, data: OrganizationUpdate) -> OrganizationRead:
    """Name and slug for every plan; setting brand fields needs the whitelabel module.

    Clearing a brand field (null) is always allowed, so an organization that lost the
    module can still remove its branding.
    """
    db, org_id = ctx.db, ctx.auth.org_id
    org, plan = await org_plan(db, org_id)
    given = data.model_fields_set
    if any(getattr(data, name) is not None for name in _BRAND_FIELDS & given):
        await require_module(db, org_id, Module.whitelabel)
    changes: dict[str, Any] = {}
    if data.name is not None and data.name != org.name:
        changes["name"] = data.name
    if data.slug is not None and data.slug != org.slug:
        taken = select(Organization.id).where(
            Organization.slug == data.slug, Organization.id != org_id
        )
        if (await db.execute(taken)).first() is not None:
            raise Conflict(f"The slug '{data.slug}' is already taken")
        changes["slug"] = data.slug
    for name in sorted(_BRAND_FIELDS & given):
        value = getattr(data, name)
        if isinstance(value, str) and name.endswith("_color"):
            value = value.lower()
        if value != getattr(org, name):
            changes[name] = value
    if changes:
        for name, value in changes.items():
            setattr(org, name, value)
        try:
            await db.flush()
        except IntegrityError as exc:  # the slug was taken concurrently
            raise Conflict(f"The slug '{data.slug}' is already taken") from exc
        await audit.record(
            ctx,
            action="organization.updated",
            resource_type="organization",
            resource_id=org_id,
            detail=", ".join(f"{name}={value!r}" for name, value in changes.items()),
        )
    return _read(org, plan)


async def logo_of(db: AsyncSession, *, org_id: int) -> tuple[bytes, str]:
    row = (
        await db.execute(
            select(Organization.logo, Organization.logo_content_type).where(
                Organization.id == org_id
            )
        )
    ).one()
    if row.logo is None or row.logo_content_type is None:
        raise NotFound("This organization has no logo")
    return row.logo, row.logo_content_type


async def set_logo(ctx: Context, *, upload: Upload) -> OrganizationRead:
    org, plan = await org_plan(ctx.db, ctx.auth.org_id)
    org.logo = upload.data
    org.logo_content_type = upload.content_type
    await ctx.db.flush()
    await audit.record(
        ctx,
        action="organization.logo_updated",
        resource_type="organization",
        resource_id=org.id,
        detail=f"{upload.content_type}, {len(upload.data)} bytes",
    )
    return _read(org, plan)


async def remove_logo(ctx: Context) -> None:
    org = await _organization(ctx.db, ctx.auth.org_id)
    if org.logo_content_type is None:
        return
    org.logo = None
    org.logo_content_type = None
    await ctx.db.flush()
    await audit.record(
        ctx, action="organization.logo_removed", resource_type="organization", resource_id=org.id
    )


def settings_of(org: Organization) -> SettingsRead:
    """Stored values merged over the defaults; keys no longer known are ignored."""
    stored = org.settings or {}
    known = {name: stored[name] for name in SettingsRead.model_fields if name in stored}
    return SettingsRead.model_validate(known)


async def get_settings(db: AsyncSession, *, org_id: int) -> SettingsRead:
    return settings_of(await _organization(db, org_id))


async def update_settings(ctx: Context, *, data: SettingsUpdate) -> SettingsRead:
    db, org_id = ctx.db, ctx.auth.org_id
    org = await _organization(db, org_id)
    current = settings_of(org)
    # null means "leave as is": none of these settings has a meaningful empty value.
    given = {
        name: value
        for name, value in data.model_dump(exclude_unset=True).items()
        if value is not None
    }
    if "default_check_interval_seconds" in given:
        await check_minimum(
            db,
            org_id,
            Limit.min_check_interval_seconds,
            value=given["default_check_interval_seconds"],
        )
    changed = {name: value for name, value in given.items() if getattr(current, name) != value}
    if changed:
        # A new dict, so the JSON column is seen as changed.
        org.settings = {**(org.settings or {}), **changed}
        await db.flush()
        await audit.record(
            ctx,
            action="settings.updated",
            resource_type="settings",
            resource_id=org_id,
            detail=", ".join(f"{name}={value!r}" for name, value in changed.items()),
        )
    return settings_of(org)
