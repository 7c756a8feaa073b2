"""Sessions: token pairs, refresh-token rotation with reuse detection, and sign-out.

A session is one signed-in device and the family of its rotating refresh tokens. Only
SHA-256 hashes of refresh tokens are stored. Reusing a spent refresh token means it was
stolen (or replayed), so the whole family is revoked (RFC 6819 section 5.2.2.3;
OAuth 2.0 Security BCP, RFC 9700 section 4.14.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import AuthSession, RefreshToken
from server.auth.tokens import hash_secret, issue_jwt, new_secret
from server.http.errors import Forbidden, Unauthorized
from server.orgs.models import Membership, Organization
from server.service_context import Context
from server.users.models import User
from shared.api.auth import TokenPair

ACCESS = "access"


@dataclass(frozen=True)
class Rotation:
    """The outcome of presenting a refresh token."""

    pair: TokenPair | None
    session: AuthSession | None
    reused: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


def access_token(ctx: Context, *, user_id: int, org_id: int, session_id: int) -> str:
    return issue_jwt(
        ctx.keys.jwt_secret,
        subject=user_id,
        purpose=ACCESS,
        ttl=timedelta(minutes=ctx.settings.access_token_minutes),
        org=org_id,
        sid=session_id,
    )


def _pair(ctx: Context, session: AuthSession, refresh_token: str) -> TokenPair:
    return TokenPair(
        access_token=access_token(
            ctx, user_id=session.user_id, org_id=session.org_id, session_id=session.id
        ),
        refresh_token=refresh_token,
        expires_in=ctx.settings.access_token_minutes * 60,
    )


async def _add_refresh_token(db: AsyncSession, session_id: int) -> str:
    token = new_secret()
    db.add(RefreshToken(session_id=session_id, token_hash=hash_secret(token)))
    await db.flush()
    return token


async def start_session(
    ctx: Context,
    *,
    user_id: int,
    org_id: int,
    origin: AuthSession | None = None,
) -> TokenPair:
    """A new session for this device, scoped to `org_id`, and its first token pair.

    A session switched from `origin` is linked to it and ends no later than it does.
    """
    _, pair = await begin_session(ctx, user_id=user_id, org_id=org_id, origin=origin)
    return pair


async def begin_session(
    ctx: Context,
    *,
    user_id: int,
    org_id: int,
    origin: AuthSession | None = None,
    lifetime: timedelta | None = None,
) -> tuple[AuthSession, TokenPair]:
    """`start_session`, with the session row too, and a `lifetime` shorter than a
    sign-in's (an SSH session's)."""
    now = _now()
    expires_at = now + (lifetime or timedelta(days=ctx.settings.refresh_token_days))
    if origin is not None:
        expires_at = min(expires_at, origin.expires_at)
    session = AuthSession(
        user_id=user_id,
        org_id=org_id,
        user_agent=ctx.user_agent,
        ip=ctx.ip,
        created_at=now,
        last_used_at=now,
        expires_at=expires_at,
        origin_id=origin.id if origin is not None else None,
    )
    ctx.db.add(session)
    await ctx.db.flush()
    return session, _pair(ctx, session, await _add_refresh_token(ctx.db, session.id))


async def default_org(db: AsyncSession, user_id: int) -> int:
    """The organization a sign-in lands in: the one used most recently, else the first joined.

    Active organizations come before suspended ones, so a user with one working
    organization is never dropped into a suspended one.
    """
    rows = (
        await db.execute(
            select(Membership.org_id, Organization.status)
            .join(Organization, Organization.id == Membership.org_id)
            .where(Membership.user_id == user_id)
            .order_by(Membership.id)
        )
    ).all()
    if not rows:
        raise Forbidden("This account does not belong to any organization; ask for an invitation")
    active = [row.org_id for row in rows if row.status == "active"] or [rows[0].org_id]
    recent = (
        await db.execute(
            select(AuthSession.org_id)
            .where(AuthSession.user_id == user_id, AuthSession.org_id.in_(active))
            .order_by(AuthSession.last_used_at.desc(), AuthSession.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return recent if recent is not None else active[0]


async def rotate(ctx: Context, refresh_token: str) -> Rotation:
    """A new pair for a valid refresh token; a spent one revokes its family (see module doc)."""
    db = ctx.db
    row = (
        await db.execute(
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == hash_secret(refresh_token))
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("Invalid refresh token")
    token, session = row[0], row[1]
    now = _now()
    if session.revoked_at is not None:
        raise Unauthorized("Session has been signed out")
    if session.expires_at <= now:
        raise Unauthorized("Session has expired; sign in again")
    # Compare-and-set, so two concurrent uses of one token cannot both succeed.
    spent = await db.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        await revoke(db, session, reason="refresh token reuse")
        return Rotation(pair=None, session=session, reused=True)
    await _require_member(db, session)
    session.last_used_at = now
    session.ip = ctx.ip
    session.user_agent = ctx.user_agent
    await db.flush()
    return Rotation(
        pair=_pair(ctx, session, await _add_refresh_token(db, session.id)), session=session
    )


async def _require_member(db: AsyncSession, session: AuthSession) -> None:
    row = (
        await db.execute(
            select(User.is_active, Membership.id)
            .outerjoin(
                Membership,
                (Membership.user_id == User.id) & (Membership.org_id == session.org_id),
            )
            .where(User.id == session.user_id)
        )
    ).one_or_none()
    if row is None or not row.is_active:
        raise Unauthorized("Invalid refresh token")
    if row.id is None:
        raise Unauthorized("You are no longer a member of this organization; sign in again")


async def session_of(db: AsyncSession, refresh_token: str) -> AuthSession | None:
    return (
        await db.execute(
            select(AuthSession)
            .join(RefreshToken, RefreshToken.session_id == AuthSession.id)
            .where(RefreshToken.token_hash == hash_secret(refresh_token))
        )
    ).scalar_one_or_none()


async def revoke(db: AsyncSession, session: AuthSession, *, reason: str) -> None:
    if session.revoked_at is None:
        session.revoked_at = _now()
        session.revoked_reason = reason
        await db.flush()


async def revoke_with_switches(db: AsyncSession, session_id: int, *, reason: str) -> None:
    """Signs out the session and every session switched from it, and from those."""
    family = {session_id}
    while True:
        found = set(
            await db.scalars(select(AuthSession.id).where(AuthSession.origin_id.in_(family)))
        )
        if found <= family:
            break
        family |= found
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id.in_(family), AuthSession.revoked_at.is_(None))
        .values(revoked_at=_now(), revoked_reason=reason)
    )


async def revoke_all(
    db: AsyncSession, user_id: int, *, reason: str, keep: int | None = None
) -> None:
    """Signs the user out everywhere (except the session `keep`)."""
    query = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    await db.execute(query.values(revoked_at=_now(), revoked_reason=reason))


async def active_sessions(db: AsyncSession, user_id: int) -> list[AuthSession]:
    return list(
        (
            await db.execute(
                select(AuthSession)
                .where(
                    AuthSession.user_id == user_id,
                    AuthSession.revoked_at.is_(None),
                    AuthSession.expires_at > _now(),
                )
                .order_by(AuthSession.last_used_at.desc(), AuthSession.id.desc())
            )
        )
        .scalars()
        .all()
    )


async def own_session(db: AsyncSession, user_id: int, session_id: int) -> AuthSession | None:
    return (
        await db.execute(
            select(AuthSession).where(AuthSession.id == session_id, AuthSession.user_id == user_id)
        )
    ).scalar_one_or_none()
