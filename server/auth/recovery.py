"""Emailed one-time tokens: password reset and magic sign-in links.

Requests answer 202 with the same body whether or not the account exists, and both paths
do the same work apart from the email itself, which is sent after the response (no account
enumeration; OWASP Forgot Password Cheat Sheet). Only token hashes are stored; a token
works once and expires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.auth import service, sessions
from server.auth.models import OneTimeToken
from server.auth.passwords import check_policy
from server.auth.tokens import hash_secret, new_secret
from server.http.errors import BadRequest, Unauthorized
from server.providers.email import Email
from server.service_context import Context
from server.users.models import User
from shared.api.auth import MfaChallenge, TokenPair
from shared.api.common import Message

PASSWORD_RESET = "password_reset"
MAGIC_LINK = "magic_link"
RESET_SENT = "If an account exists for this email, a password reset link has been sent to it."
LINK_SENT = "If an account exists for this email, a sign-in link has been sent to it."
INVALID_TOKEN = "invalid or expired token"


async def _issue(
    ctx: Context, *, email: str, purpose: str, minutes: int, action: str
) -> str | None:
    """A new token for the account of `email`, or None when there is no such active account."""
    user = await service.user_by_email(ctx.db, email)
    found = user is not None and user.is_active
    token = await new_token(ctx.db, user.id, purpose, minutes) if user and found else None
    await audit.record(
        ctx,
        action=action,
        user_id=user.id if user else None,
        user_email=email.lower(),
        detail=None if found else "no such active account; nothing sent",
    )
    return token


async def new_token(
    db: AsyncSession, user_id: int, purpose: str, minutes: int, *, new_email: str | None = None
) -> str:
    """A new one-time token of `user_id` for `purpose`, valid for `minutes`; only its hash
    is stored."""
    token = new_secret()
    db.add(
        OneTimeToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=hash_secret(token),
            new_email=new_email,
            expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        )
    )
    await db.flush()
    return token


async def lapse_all(db: AsyncSession, user_id: int, purpose: str) -> None:
    """Spend every unused token of `user_id` for `purpose`: the one used makes them moot."""
    await db.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
    )


async def request_password_reset(ctx: Context, email: str) -> Message:
    minutes = ctx.settings.password_reset_minutes
    token = await _issue(
        ctx,
        email=email,
        purpose=PASSWORD_RESET,
        minutes=minutes,
        action="auth.password_reset_requested",
    )
    if token is not None:
        link = f"{ctx.settings.resolved_public_url}/reset-password?token={token}"
        ctx.send_email(
            Email(
                to=email.lower(),
                subject="Reset your Upmetr password",
                text=(
                    f"Someone asked to reset the password of your Upmetr account.\n\n"
                    f"Set a new password here (valid for {minutes} minutes, once):\n{link}\n\n"
                    "If it was not you, ignore this email; your password stays the same.\n"
                ),
            )
        )
    return Message(detail=RESET_SENT)


async def request_magic_link(ctx: Context, email: str) -> Message:
    minutes = ctx.settings.magic_link_minutes
    token = await _issue(
        ctx, email=email, purpose=MAGIC_LINK, minutes=minutes, action="auth.magic_link_requested"
    )
    if token is not None:
        link = f"{ctx.settings.resolved_public_url}/magic-link?token={token}"
        ctx.send_email(
            Email(
                to=email.lower(),
                subject="Your Upmetr sign-in link",
                text=(
                    f"Sign in to Upmetr with this link (valid for {minutes} minutes, once):\n"
                    f"{link}\n\nIf you did not ask for it, ignore this email.\n"
                ),
            )
        )
    return Message(detail=LINK_SENT)


async def usable_token(
    db: AsyncSession, token: str, purpose: str
) -> tuple[OneTimeToken, User] | None:
    """The record and user of an unused, unexpired token of an active account; else None.

    Nothing is spent: the pages emailed links land on read this, so a mail scanner that
    fetches a link does not use it up (only a POST, or the CLI, does).
    """
    row = (
        await db.execute(
            select(OneTimeToken, User)
            .join(User, User.id == OneTimeToken.user_id)
            .where(OneTimeToken.token_hash == hash_secret(token), OneTimeToken.purpose == purpose)
        )
    ).one_or_none()
    if row is None:
        return None
    record, user = row[0], row[1]
    if record.used_at is not None or record.expires_at <= datetime.now(UTC) or not user.is_active:
        return None
    return record, user


async def redeem(ctx: Context, token: str, purpose: str) -> tuple[OneTimeToken, User] | None:
    """The record and user of a valid unused token, which is spent (compare-and-set); else
    None."""
    now = datetime.now(UTC)
    found = await usable_token(ctx.db, token, purpose)
    if found is None:
        return None
    spent = await ctx.db.execute(
        update(OneTimeToken)
        .where(OneTimeToken.id == found[0].id, OneTimeToken.used_at.is_(None))
        .values(used_at=now)
    )
    return found if spent.rowcount == 1 else None  # type: ignore[attr-defined]


async def reset_password(ctx: Context, *, token: str, new_password: str) -> None:
    found = await redeem(ctx, token, PASSWORD_RESET)
    if found is None:
        audit.record_failure(ctx, action="auth.password_reset", detail=INVALID_TOKEN)
        raise BadRequest(f"token: {INVALID_TOKEN}")
    user = found[1]
    check_policy(new_password, field="new_password")
    await service.set_password(ctx, user, new_password)
    # Every other reset link dies with this one, and every session is signed out.
    await lapse_all(ctx.db, user.id, PASSWORD_RESET)
    await sessions.revoke_all(ctx.db, user.id, reason="password reset")
    await audit.record(
        ctx,
        action="auth.password_reset",
        resource_type="user",
        resource_id=user.id,
        user_id=user.id,
        user_email=user.email,
    )


async def sign_in_with_magic_link(ctx: Context, token: str) -> TokenPair | MfaChallenge:
    found = await redeem(ctx, token, MAGIC_LINK)
    if found is None:
        audit.record_failure(ctx, action="auth.magic_link_used", detail=INVALID_TOKEN)
        raise Unauthorized("Invalid or expired sign-in link")
    user = found[1]
    await audit.record(ctx, action="auth.magic_link_used", user_id=user.id, user_email=user.email)
    return await service.sign_in(ctx, user)
