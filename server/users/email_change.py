"""Changing the sign-in email: asked with the current password, done from a link sent to
the new address, and told to the old one both times (OWASP Authentication Cheat Sheet,
"Changing a User's Registered Email Address").

1. A member asks (PATCH /users/me with `email` and `current_password`). The address must
   be free; a wrong password counts as a failed sign-in.
2. A one-time token carrying the new address is stored (hashed) and its link mailed to the
   new address; the old one is told a change was asked, so a stolen session is noticed.
   Until the link is used the sign-in email stays as it was (the profile shows it pending).
3. The link's page (GET /confirm-email) spends nothing; its form, or
   POST /auth/email/confirm, spends the token: the email changes unless the address was
   taken meanwhile (409), the member's other pending changes lapse, and the old address
   is told the change was made.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from server.audit import service as audit
from server.auth import recovery
from server.auth import service as auth
from server.auth.models import OneTimeToken
from server.http.errors import BadRequest, Conflict
from server.providers.email import Email
from server.service_context import Context
from server.users.models import User
from shared.api.common import Message

EMAIL_CHANGE = "email_change"
INVALID = "This email confirmation link is invalid, was used already, or has expired"


async def _taken(ctx: Context, email: str, user_id: int) -> bool:
    found = await ctx.db.scalar(select(User.id).where(User.email == email, User.id != user_id))
    return found is not None


async def pending_email(ctx: Context, user_id: int) -> str | None:
    """The address of the member's newest change still waiting for its link, if any."""
    return await ctx.db.scalar(
        select(OneTimeToken.new_email)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == EMAIL_CHANGE,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > datetime.now(UTC),
        )
        .order_by(OneTimeToken.id.desc())
        .limit(1)
    )


async def request_change(
    ctx: Context, user: User, *, new_email: str, current_password: str | None
) -> None:
    if await _taken(ctx, new_email, user.id):
        raise Conflict(f"{new_email} is already used by another account")
    if not current_password:
        raise BadRequest("current_password is required to change the sign-in email")
    await auth.check_current_password(
        ctx, user, current_password, action="profile.email_change_requested"
    )
    minutes = ctx.settings.email_change_minutes
    token = await recovery.new_token(ctx.db, user.id, EMAIL_CHANGE, minutes, new_email=new_email)
    link = f"{ctx.settings.resolved_public_url}/confirm-email?token={token}"
    ctx.send_email(
        Email(
            to=new_email,
            subject="Confirm your new Upmetr sign-in email",
            text=(
                f"Someone signed in to Upmetr as {user.email} asked to sign in with this "
                f"address from now on.\n\nConfirm it here (valid for {minutes // 60} hours, "
                f"once):\n{link}\n\nIf it was not you, ignore this email.\n"
            ),
        )
    )
    ctx.send_email(
        Email(
            to=user.email,
            subject="A change of your Upmetr sign-in email was asked",
            text=(
                f"Someone signed in to your Upmetr account asked to change its sign-in email "
                f"to {new_email}. It changes only once that address confirms it.\n\n"
                "If it was not you, change your password now: your session may be in "
                "someone else's hands.\n"
            ),
        )
    )
    await audit.record(
        ctx, action="profile.email_change_requested", resource_type="user",
        resource_id=user.id, detail=f"{user.email} -> {new_email}",
    )  # fmt: skip


async def confirm(ctx: Context, token: str) -> Message:
    """Spend the link's token and change the email (400 when the link does not work)."""
    found = await recovery.redeem(ctx, token, EMAIL_CHANGE)
    if found is None:
        audit.record_failure(ctx, action="profile.email_changed", detail="invalid or expired token")
        raise BadRequest(INVALID)
    record, user = found
    new_email, old_email = record.new_email, user.email
    assert new_email is not None  # every email_change token carries its address
    if await _taken(ctx, new_email, user.id):
        raise Conflict(f"{new_email} is already used by another account")
    user.email = new_email
    await recovery.lapse_all(ctx.db, user.id, EMAIL_CHANGE)
    await ctx.db.flush()
    ctx.send_email(
        Email(
            to=old_email,
            subject="Your Upmetr sign-in email was changed",
            text=(
                f"Your Upmetr account now signs in as {new_email} instead of this address.\n\n"
                "If it was not you, reset your password from the new address's mailbox or "
                "ask your organization's admin.\n"
            ),
        )
    )
    await audit.record(
        ctx, action="profile.email_changed", resource_type="user", resource_id=user.id,
        user_id=user.id, user_email=new_email, detail=f"{old_email} -> {new_email}",
    )  # fmt: skip
    return Message(detail=f"The sign-in email is now {new_email}")
