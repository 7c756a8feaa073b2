"""Creating an account straight on the database, for `upmetr users create` (the first admin)."""

from __future__ import annotations

from sqlalchemy import select

from server.auth.passwords import check_policy, hash_password
from server.billing.models import Plan
from server.config import Settings
from server.db.engine import create_engine, create_sessionmaker
from server.http.errors import BadRequest, Conflict
from server.orgs.service import create_organization
from server.users.models import User


async def create_account(
    settings: Settings,
    *,
    email: str,
    password: str,
    full_name: str | None,
    org_name: str | None,
    platform_admin: bool,
    plan_code: str | None = None,
) -> tuple[int, int]:
    """A user and a new organization on `plan_code` (default `settings.default_plan`) with
    the user as superadmin.

    Returns (user id, organization id). 400 for a weak password or a plan the database does
    not have, 409 if the email is taken.
    """
    email = email.strip().lower()
    check_policy(password)
    name = full_name or email.split("@")[0]
    password_hash = await hash_password(settings, password)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            plan_code = plan_code or settings.default_plan
            codes = list(await db.scalars(select(Plan.code).order_by(Plan.code)))
            if plan_code not in codes:
                raise BadRequest(f"unknown plan {plan_code!r}: the plans are {', '.join(codes)}")
            taken = await db.execute(select(User.id).where(User.email == email))
            if taken.first() is not None:
                raise Conflict(f"An account with the email {email} already exists")
            user = User(
                email=email,
                full_name=name,
                password_hash=password_hash,
                is_platform_admin=platform_admin,
            )
            db.add(user)
            await db.flush()
            org = await create_organization(
                db,
                name=org_name or f"{name}'s organization",
                plan_code=plan_code,
                owner_id=user.id,
            )
            return user.id, org.id
    finally:
        await engine.dispose()
