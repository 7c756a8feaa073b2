"""Plain builder functions for test data, written straight to the database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.models import Plan
from server.orgs.models import Membership, Organization
from server.users.models import User

PASSWORD = "Correct-Horse-42!"


async def create_org(db: AsyncSession, name: str, *, plan: str = "enterprise") -> Organization:
    plan_id = (await db.execute(select(Plan.id).where(Plan.code == plan))).scalar_one()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    org = Organization(name=name, slug=slug, plan_id=plan_id, extra_modules=[], settings={})
    db.add(org)
    await db.flush()
    return org


async def create_user(
    db: AsyncSession,
    email: str,
    *,
    password_hash: str,
    full_name: str | None = None,
    platform_admin: bool = False,
) -> User:
    user = User(
        email=email.lower(),
        full_name=full_name or email.split("@")[0].title(),
        password_hash=password_hash,
        is_platform_admin=platform_admin,
    )
    db.add(user)
    await db.flush()
    return user


async def add_member(db: AsyncSession, user: User, org: Organization, role: str) -> Membership:
    membership = Membership(user_id=user.id, org_id=org.id, role=role)
    db.add(membership)
    await db.flush()
    return membership


@dataclass
class Person:
    """A standing test user, signed in: `headers` carry their access token."""

    email: str
    user_id: int
    org_id: int
    role: str
    password: str = PASSWORD
    access_token: str = ""
    refresh_token: str = ""
    headers: dict[str, str] = field(default_factory=dict)
