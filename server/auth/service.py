"""Auth rules: registration, sign-in (password, MFA), organizations of the caller, passwords."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.auth import mfa, sessions, throttle
from server.auth.models import AuthSession
from server.auth.passwords import check_policy, hash_password, hasher_for, verify_password
from server.auth.tokens import decode_jwt
from server.billing.models import Plan
from server.billing.plans import modules_of, org_plan
from server.config import Settings
from server.http.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from server.orgs.models import Membership, Organization
from server.orgs.service import create_organization
from server.service_context import Context
from server.users.models import User
from shared.api.auth import (
    LoginRequest,
    MeResponse,
    MfaChallenge,
    OrganizationSummary,
    PasswordChangeRequest,
    PlanSummary,
    RegisterRequest,
    RegisterResponse,
    TokenPair,
    UserRead,
)
from shared.api.common import Role

INVALID_CREDENTIALS = "Invalid email or password"
_dummy_hashes: dict[tuple[int, int, int], str] = {}


async def _dummy_hash(settings: Settings) -> str:
    """A hash to verify against when the account does not exist, so both paths cost the same."""
    params = (settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism)
    if params not in _dummy_hashes:
        hasher = hasher_for(settings)
        _dummy_hashes[params] = await asyncio.to_thread(hasher.hash, "not a real password")
    return _dummy_hashes[params]


async def user_by_email(db: AsyncSession, email: str) -> User | None:
    return (
        await db.execute(select(User).where(User.email == email.strip().lower()))
    ).scalar_one_or_none()


async def sign_in(ctx: Context, user: User) -> TokenPair | MfaChallenge:
    """Tokens for a user whose first factor is proven, or the MFA challenge when it is on."""
    org_id = await sessions.default_org(ctx.db, user.id)
    if user.mfa_enabled:
        return mfa.challenge(ctx, user_id=user.id, org_id=org_id)
    pair = await sessions.start_session(ctx, user_id=user.id, org_id=org_id)
    await audit.record(
        ctx, action="auth.login", org_id=org_id, user_id=user.id, user_email=user.email
    )
    return pair


async def register(ctx: Context, data: RegisterRequest) -> RegisterResponse:
    email = data.email.lower()
    check_policy(data.password)
    if await user_by_email(ctx.db, email) is not None:
        raise Conflict("An account with this email already exists; sign in instead")
    user = User(
        email=email,
        full_name=data.full_name,
        password_hash=await hash_password(ctx.settings, data.password),
    )
    ctx.db.add(user)
    await ctx.db.flush()
    if data.invitation_token:
        from server.users import service as users_service

        membership = await users_service.join_by_invitation_token(
            ctx, token=data.invitation_token, user_id=user.id, email=email
        )
        org_id = membership.org_id
    else:
        org = await create_organization(
            ctx.db,
            name=data.organization_name or f"{data.full_name}'s organization",
            plan_code=ctx.settings.default_plan,
            owner_id=user.id,
        )
        org_id = org.id
    pair = await sessions.start_session(ctx, user_id=user.id, org_id=org_id)
    await audit.record(
        ctx,
        action="auth.register",
        resource_type="user",
        resource_id=user.id,
        org_id=org_id,
        user_id=user.id,
        user_email=email,
    )
    return RegisterResponse(**pair.model_dump(), user=UserRead.model_validate(user))


async def login(ctx: Context, data: LoginRequest) -> TokenPair | MfaChallenge:
    email = data.email.lower()
    user = await user_by_email(ctx.db, email)
    await throttle.check(ctx, email, user.id if user else None)
    password_hash = user.password_hash if user else await _dummy_hash(ctx.settings)
    if not await verify_password(ctx.settings, password_hash, data.password) or user is None:
        await throttle.failed(ctx, email)
        audit.record_failure(
            ctx,
            action="auth.login",
            user_id=user.id if user else None,
            user_email=email,
            detail="wrong password" if user else "unknown account",
        )
        raise Unauthorized(INVALID_CREDENTIALS)
    if not user.is_active:
        audit.record_failure(
            ctx, action="auth.login", user_id=user.id, user_email=email, detail="account disabled"
        )
        raise Forbidden("This account is disabled")
    await throttle.succeeded(ctx, email)
    return await sign_in(ctx, user)


async def mfa_verify(ctx: Context, *, mfa_token: str, code: str) -> TokenPair:
    claims = decode_jwt(ctx.keys.jwt_secret, mfa_token, purpose=mfa.MFA)
    user = (
        await ctx.db.execute(select(User).where(User.id == int(claims["sub"])))
    ).scalar_one_or_none()
    if user is None or not user.is_active or not user.mfa_enabled:
        raise Unauthorized("Invalid token")
    await throttle.check(ctx, user.email, user.id)
    if not await mfa.verify_code(ctx, user, code):
        await throttle.failed(ctx, user.email)
        audit.record_failure(
            ctx,
            action="auth.login",
            user_id=user.id,
            user_email=user.email,
            detail="wrong MFA code",
        )
        raise Unauthorized("Invalid authentication code")
    await throttle.succeeded(ctx, user.email)
    org_id = int(claims["org"])
    if not await _is_member(ctx.db, user.id, org_id):
        org_id = await sessions.default_org(ctx.db, user.id)
    pair = await sessions.start_session(ctx, user_id=user.id, org_id=org_id)
    await audit.record(
        ctx,
        action="auth.login",
        org_id=org_id,
        user_id=user.id,
        user_email=user.email,
        detail="with MFA",
    )
    return pair


async def _is_member(db: AsyncSession, user_id: int, org_id: int) -> bool:
    found = await db.execute(
        select(Membership.id).where(Membership.user_id == user_id, Membership.org_id == org_id)
    )
    return found.first() is not None


async def select_org(ctx: Context, org_id: int) -> TokenPair:
    if ctx.auth.api_key_id is not None:
        raise Forbidden("An API key is bound to its organization; sign in to switch")
    if not await _is_member(ctx.db, ctx.auth.user_id, org_id):
        raise NotFound("Organization not found")
    origin = (
        await ctx.db.get(AuthSession, ctx.auth.session_id)
        if ctx.auth.session_id is not None
        else None
    )
    pair = await sessions.start_session(ctx, user_id=ctx.auth.user_id, org_id=org_id, origin=origin)
    await audit.record(
        ctx,
        action="auth.org_selected",
        resource_type="organization",
        resource_id=org_id,
        org_id=org_id,
    )
    return pair


def _plan_summary(org: Organization, plan: Plan) -> PlanSummary:
    return PlanSummary(
        code=plan.code, name=plan.name, modules=modules_of(org, plan), limits=dict(plan.limits)
    )


async def me(ctx: Context) -> MeResponse:
    principal = ctx.auth
    user = (await ctx.db.execute(select(User).where(User.id == principal.user_id))).scalar_one()
    org, plan = await org_plan(ctx.db, principal.org_id)
    return MeResponse(
        user=UserRead.model_validate(user),
        organization=OrganizationSummary(
            id=org.id, name=org.name, slug=org.slug, role=principal.role
        ),
        role=principal.role,
        plan=_plan_summary(org, plan),
    )


async def organizations(ctx: Context) -> list[OrganizationSummary]:
    rows = (
        await ctx.db.execute(
            select(Organization.id, Organization.name, Organization.slug, Membership.role)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == ctx.auth.user_id)
            .order_by(Organization.name, Organization.id)
        )
    ).all()
    return [
        OrganizationSummary(id=row.id, name=row.name, slug=row.slug, role=Role(row.role))
        for row in rows
    ]


async def set_password(ctx: Context, user: User, password: str) -> None:
    user.password_hash = await hash_password(ctx.settings, password)
    user.password_changed_at = datetime.now(UTC)


async def check_current_password(ctx: Context, user: User, password: str, *, action: str) -> None:
    """400 unless `password` is the member's own; failures count as failed sign-ins (a
    stolen session must not become a way to guess the password)."""
    await throttle.check(ctx, user.email, user.id)
    if not await verify_password(ctx.settings, user.password_hash, password):
        await throttle.failed(ctx, user.email)
        audit.record_failure(ctx, action=action, detail="wrong current password")
        raise BadRequest("current_password is incorrect")


async def change_password(ctx: Context, data: PasswordChangeRequest) -> None:
    user = (await ctx.db.execute(select(User).where(User.id == ctx.auth.user_id))).scalar_one()
    await check_current_password(ctx, user, data.current_password, action="auth.password_changed")
    check_policy(data.new_password, field="new_password")
    await set_password(ctx, user, data.new_password)
    await sessions.revoke_all(ctx.db, user.id, reason="password changed", keep=ctx.auth.session_id)
    await audit.record(
        ctx, action="auth.password_changed", resource_type="user", resource_id=user.id
    )
