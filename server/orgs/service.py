"""Organizations: creation, lookup, branding and settings rules."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.models import Plan
from server.orgs.models import Membership, Organization
from shared.api.common import Role


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
