"""Turns a bearer token (access JWT, API key or agent token) into its caller, with one query
each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from aiohttp import web
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.tokens import AGENT_TOKEN_PREFIX, authenticate_agent
from server.auth.models import ApiKey, AuthSession
from server.auth.tokens import API_KEY_PREFIX, decode_jwt, hash_secret
from server.context import KEYS
from server.db.base import Int64
from server.http.errors import Forbidden, Unauthorized
from server.http.principal import Caller, Principal
from server.orgs.models import Membership, Organization
from server.users.models import User
from shared.api.common import Role

ACCESS = "access"
# The claim that marks a platform admin's read-only impersonation token (its value: the
# admin's user id, also its subject); issued by server/admin/impersonation.py.
IMPERSONATED_BY = "imp"
_LAST_USED_GRANULARITY = timedelta(minutes=1)


async def authenticate(request: web.Request, db: AsyncSession, token: str) -> Caller:
    if token.startswith(AGENT_TOKEN_PREFIX):
        return await authenticate_agent(db, token)
    if token.startswith(API_KEY_PREFIX):
        return await _from_api_key(db, token)
    claims = decode_jwt(request.app[KEYS].jwt_secret, token, purpose=ACCESS)
    if IMPERSONATED_BY in claims:
        return await _from_impersonation(db, claims)
    return await _from_access_token(db, claims)


async def _from_access_token(db: AsyncSession, claims: dict[str, object]) -> Principal:
    user_id, org_id, session_id = (
        _int(claims.get("sub")),
        _int(claims.get("org")),
        _int(claims.get("sid")),
    )
    connection = await db.connection()
    row = (
        await connection.execute(
            _access_statement(), {"user_id": user_id, "org_id": org_id, "session_id": session_id}
        )
    ).one_or_none()
    if row is None or not row.is_active:
        raise Unauthorized("Invalid token")
    if row.revoked_at is not None:
        raise Unauthorized("Session has been signed out")
    if row.role is None:
        raise Unauthorized("You are no longer a member of this organization; sign in again")
    if row.status != "active":
        raise Forbidden("This organization is suspended")
    return Principal(
        user_id=user_id,
        email=row.email,
        org_id=org_id,
        role=Role(row.role),
        is_platform_admin=row.is_platform_admin,
        session_id=session_id,
    )


async def _from_impersonation(db: AsyncSession, claims: dict[str, object]) -> Principal:
    """A platform admin reading as another organization: no membership there is needed, but
    the admin must still be one, signed in (the session the token was issued from), and the
    organization active. The role is superadmin so every read is open; writes are refused."""
    admin_id, org_id, session_id = (
        _int(claims.get("sub")),
        _int(claims.get("org")),
        _int(claims.get("sid")),
    )
    if _int(claims.get(IMPERSONATED_BY)) != admin_id:
        raise Unauthorized("Invalid token")
    row = (
        await db.execute(
            select(User.email, User.is_active, User.is_platform_admin, AuthSession.revoked_at)
            .join(AuthSession, (AuthSession.user_id == User.id) & (AuthSession.id == session_id))
            .where(User.id == admin_id)
        )
    ).one_or_none()
    if row is None or not row.is_active or not row.is_platform_admin:
        raise Unauthorized("Invalid token")
    if row.revoked_at is not None:
        raise Unauthorized("Session has been signed out")
    status = await db.scalar(select(Organization.status).where(Organization.id == org_id))
    if status is None:
        raise Unauthorized("Invalid token")
    if status != "active":
        raise Forbidden("This organization is suspended")
    return Principal(
        user_id=admin_id,
        email=row.email,
        org_id=org_id,
        role=Role.superadmin,
        is_platform_admin=False,  # the token cannot reach /admin
        session_id=session_id,
        impersonated_by=admin_id,
    )


async def _from_api_key(db: AsyncSession, token: str) -> Principal:
    row = (
        await db.execute(
            select(
                ApiKey.id,
                ApiKey.org_id,
                ApiKey.role.label("key_role"),
                ApiKey.expires_at,
                ApiKey.revoked_at,
                ApiKey.last_used_at,
                User.id.label("user_id"),
                User.email,
                User.is_active,
                User.is_platform_admin,
                Membership.role,
                Organization.status,
            )
            .join(User, User.id == ApiKey.user_id)
            .join(Organization, Organization.id == ApiKey.org_id)
            .outerjoin(
                Membership,
                (Membership.user_id == ApiKey.user_id) & (Membership.org_id == ApiKey.org_id),
            )
            .where(ApiKey.key_hash == hash_secret(token))
        )
    ).one_or_none()
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or not row.is_active or row.role is None:
        raise Unauthorized("Invalid API key")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("API key has expired")
    if row.status != "active":
        raise Forbidden("This organization is suspended")
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_GRANULARITY:
        await db.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
        await db.commit()
    # A key never carries more than its creator currently has.
    role = min(Role(row.key_role), Role(row.role), key=lambda r: r.rank)
    return Principal(
        user_id=row.user_id,
        email=row.email,
        org_id=row.org_id,
        role=role,
        is_platform_admin=False,  # platform administration needs an interactive sign-in
        api_key_id=row.id,
    )


@cache
def _access_statement() -> Select[str, bool, bool, str | None, str | None, datetime | None]:
    """Built once, run through Core: every authenticated request runs it, and building and
    keying a new statement each time cost more than SQLite's answer."""
    user_id, org_id = bindparam("user_id", type_=Int64), bindparam("org_id", type_=Int64)
    return (
        select(
            User.email,
            User.is_active,
            User.is_platform_admin,
            Membership.role,
            Organization.status,
            AuthSession.revoked_at,
        )
        .select_from(User)
        .join(
            AuthSession,
            (AuthSession.user_id == User.id) & (AuthSession.id == bindparam("session_id")),
        )
        .outerjoin(Membership, (Membership.user_id == User.id) & (Membership.org_id == org_id))
        .outerjoin(Organization, Organization.id == org_id)
        .where(User.id == user_id)
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        raise Unauthorized("Invalid token") from exc
