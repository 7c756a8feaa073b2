"""Members of an organization, one's own profile and avatar.

An account (User) can belong to several organizations; a Membership gives it a role in
one. Every organization keeps at least one superadmin: the last one can be neither
demoted nor removed, checked with a compare-and-set statement so two concurrent requests
cannot both pass.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.auth.models import ApiKey, AuthSession
from server.auth.passwords import check_policy, hash_password
from server.billing.plans import check_limit
from server.db import paging
from server.db.text_match import containing
from server.http.errors import Conflict, NotFound
from server.http.uploads import Upload
from server.orgs.models import Membership
from server.service_context import Context
from server.users import email_change, invitations
from server.users.models import User
from shared.api.billing import Limit
from shared.api.common import Page, Role
from shared.api.users import (
    MemberCreate,
    MemberQuery,
    MemberRead,
    MemberUpdate,
    ProfileRead,
    ProfileUpdate,
)

_SORT_COLUMNS = {
    "email": User.email,
    "full_name": User.full_name,
    "role": Membership.role,
    "joined_at": Membership.created_at,
}


def _member_read(user: User, membership: Membership) -> MemberRead:
    return MemberRead(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=Role(membership.role),
        mfa_enabled=user.mfa_enabled,
        has_avatar=user.has_avatar,
        joined_at=membership.created_at,
    )


def profile_read(user: User) -> ProfileRead:
    return ProfileRead.model_validate(user)


def _members(org_id: int) -> Select[User, Membership]:
    return (
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id)
    )


async def list_members(db: AsyncSession, *, org_id: int, query: MemberQuery) -> Page[MemberRead]:
    filters: list[ColumnElement[bool]] = []
    if query.role is not None:
        filters.append(Membership.role == query.role.value)
    if query.q:
        pattern = containing(query.q)
        filters.append(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
            )
        )
    column = _SORT_COLUMNS[query.sort.lstrip("-")]
    order = column.desc() if query.sort.startswith("-") else column.asc()
    statement = _members(org_id).where(*filters).order_by(order, User.id)
    return await paging.page_of_rows(
        db, statement, query, Page[MemberRead], lambda row: _member_read(*row)
    )


async def _member(db: AsyncSession, *, org_id: int, user_id: int) -> tuple[User, Membership]:
    """The member `user_id` of `org_id`; anyone else (another org's member too) is a 404."""
    row = (await db.execute(_members(org_id).where(User.id == user_id))).one_or_none()
    if row is None:
        raise NotFound("Member not found")
    user, membership = row
    return user, membership


async def get_member(db: AsyncSession, *, org_id: int, user_id: int) -> MemberRead:
    return _member_read(*await _member(db, org_id=org_id, user_id=user_id))


async def create_member(ctx: Context, *, data: MemberCreate) -> MemberRead:
    """A new account with a password, made a member at once (409 if the email has one)."""
    db, org_id = ctx.db, ctx.auth.org_id
    email = str(data.email).lower()
    check_policy(data.password)
    if (await db.execute(select(User.id).where(User.email == email))).first() is not None:
        raise Conflict(f"An account with {email} already exists; invite it instead")
    await check_limit(db, org_id, Limit.users, current=await invitations.count_seats(db, org_id))
    user = User(
        email=email,
        full_name=data.full_name,
        password_hash=await hash_password(ctx.settings, data.password),
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:  # created concurrently since the check above
        raise Conflict(f"An account with {email} already exists; invite it instead") from exc
    membership = Membership(user_id=user.id, org_id=org_id, role=data.role.value)
    db.add(membership)
    await db.flush()
    await audit.record(
        ctx,
        action="user.created",
        resource_type="user",
        resource_id=user.id,
        detail=f"created {email} as {data.role.value}",
    )
    return _member_read(user, membership)


def _other_superadmins(org_id: int, user_id: int) -> ColumnElement[bool]:
    others = (
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.org_id == org_id,
            Membership.role == Role.superadmin.value,
            Membership.user_id != user_id,
        )
        .scalar_subquery()
    )
    return others > 0


_LAST_SUPERADMIN = (
    "The organization's last superadmin cannot be {}; make another member superadmin first"
)


async def update_member(ctx: Context, *, user_id: int, data: MemberUpdate) -> MemberRead:
    db, org_id = ctx.db, ctx.auth.org_id
    user, membership = await _member(db, org_id=org_id, user_id=user_id)
    if data.role is not None and data.role.value != membership.role:
        old_role = membership.role
        statement = update(Membership).where(Membership.id == membership.id)
        if old_role == Role.superadmin.value:
            statement = statement.where(_other_superadmins(org_id, user_id))
        result = await db.execute(
            statement.values(role=data.role.value).execution_options(synchronize_session=False)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise Conflict(_LAST_SUPERADMIN.format("demoted"))
        await db.refresh(membership)
        await audit.record(
            ctx,
            action="user.role_changed",
            resource_type="user",
            resource_id=user.id,
            detail=f"{user.email}: {old_role} -> {data.role.value}",
        )
    if data.full_name is not None and data.full_name != user.full_name:
        user.full_name = data.full_name
        await db.flush()
        await audit.record(
            ctx,
            action="user.updated",
            resource_type="user",
            resource_id=user.id,
            detail=f"{user.email}: full name changed",
        )
    return _member_read(user, membership)


async def remove_member(ctx: Context, *, user_id: int) -> None:
    """Removes the membership, revokes the user's API keys and sessions in this org.

    Their access tokens stop working at once: every request re-checks the membership.
    """
    db, org_id = ctx.db, ctx.auth.org_id
    user, membership = await _member(db, org_id=org_id, user_id=user_id)
    statement = delete(Membership).where(Membership.id == membership.id)
    if membership.role == Role.superadmin.value:
        statement = statement.where(_other_superadmins(org_id, user_id))
    result = await db.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict(_LAST_SUPERADMIN.format("removed"))
    db.expunge(membership)
    now = datetime.now(UTC)
    await db.execute(
        update(ApiKey)
        .where(ApiKey.org_id == org_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        update(AuthSession)
        .where(
            and_(
                AuthSession.org_id == org_id,
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
            )
        )
        .values(revoked_at=now, revoked_reason="removed from organization")
        .execution_options(synchronize_session=False)
    )
    await audit.record(
        ctx,
        action="user.removed",
        resource_type="user",
        resource_id=user.id,
        detail=f"removed {user.email} ({membership.role})",
    )


async def _me(ctx: Context) -> User:
    user = await ctx.db.get(User, ctx.auth.user_id)
    if user is None:  # pragma: no cover - the principal was just loaded
        raise NotFound("Account not found")
    return user


async def get_profile(ctx: Context) -> ProfileRead:
    return await _profile(ctx, await _me(ctx))


async def _profile(ctx: Context, user: User) -> ProfileRead:
    pending = await email_change.pending_email(ctx, user.id)
    return profile_read(user).model_copy(update={"pending_email": pending})


async def update_profile(ctx: Context, *, data: ProfileUpdate) -> ProfileRead:
    """The full name changes at once; a new email only once its link is followed
    (server/users/email_change.py)."""
    user = await _me(ctx)
    if data.email is not None and str(data.email).lower() != user.email:
        await email_change.request_change(
            ctx, user, new_email=str(data.email).lower(), current_password=data.current_password
        )
    if data.full_name is not None and data.full_name != user.full_name:
        user.full_name = data.full_name
        await ctx.db.flush()
        await audit.record(
            ctx,
            action="profile.updated",
            resource_type="user",
            resource_id=user.id,
            detail="full name",
        )
    return await _profile(ctx, user)


async def set_avatar(ctx: Context, *, upload: Upload) -> ProfileRead:
    user = await _me(ctx)
    user.avatar = upload.data
    user.avatar_content_type = upload.content_type
    await ctx.db.flush()
    await audit.record(
        ctx,
        action="avatar.updated",
        resource_type="user",
        resource_id=user.id,
        detail=f"{upload.content_type}, {len(upload.data)} bytes",
    )
    return profile_read(user)


async def remove_avatar(ctx: Context) -> None:
    user = await _me(ctx)
    if not user.has_avatar:
        return
    user.avatar = None
    user.avatar_content_type = None
    await ctx.db.flush()
    await audit.record(ctx, action="avatar.removed", resource_type="user", resource_id=user.id)


async def avatar_of(db: AsyncSession, *, org_id: int, user_id: int) -> tuple[bytes, str]:
    """A member's avatar bytes and type; 404 for no avatar or someone outside `org_id`."""
    row = (
        await db.execute(
            select(User.avatar, User.avatar_content_type)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org_id, User.id == user_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Member not found")
    if row.avatar is None or row.avatar_content_type is None:
        raise NotFound("This member has no avatar")
    return row.avatar, row.avatar_content_type


async def join_by_invitation_token(
    ctx: Context, *, token: str, user_id: int, email: str
) -> Membership:
    """Accept the invitation `token` as the account `user_id` with `email` (used by
    /auth/register and /users/invitations/accept); returns the new membership.

    400 for an unknown, expired or revoked token, 403 when `email` is not the invited
    address, 409 when already accepted or already a member.
    """
    return await invitations.join_by_token(ctx, token=token, user_id=user_id, email=email)
