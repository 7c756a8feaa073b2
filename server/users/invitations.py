"""Invitations: invite by email, revoke, resend, and join an organization with a token.

Only the SHA-256 of an invitation token is stored; the token itself exists only in the
email. An invitation is pending until accepted, revoked or past `expires_at`. Pending
invitations hold a seat: the plan's users limit counts members plus pending invitations.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.auth.tokens import hash_secret, new_secret
from server.billing.plans import check_limit
from server.http.errors import BadRequest, Conflict, Forbidden, NotFound
from server.orgs.models import Membership, Organization
from server.providers.email import Email
from server.service_context import Context
from server.users.models import Invitation, User
from shared.api.billing import Limit
from shared.api.common import Role
from shared.api.users import InvitationCreate, InvitationRead


def _now() -> datetime:
    return datetime.now(UTC)


def status_of(invitation: Invitation, *, now: datetime | None = None) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= (now or _now()):
        return "expired"
    return "pending"


def _read(invitation: Invitation, invited_by_email: str | None) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=Role(invitation.role),
        status=status_of(invitation),
        invited_by_email=invited_by_email,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at,
    )


def _pending(org_id: int) -> list[ColumnElement[bool]]:
    return [
        Invitation.org_id == org_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > _now(),
    ]


async def count_members(db: AsyncSession, org_id: int) -> int:
    query = select(func.count()).select_from(Membership).where(Membership.org_id == org_id)
    return int((await db.execute(query)).scalar_one())


async def count_seats(db: AsyncSession, org_id: int) -> int:
    """Members plus pending invitations: what the plan's users limit is checked against."""
    pending = select(func.count()).select_from(Invitation).where(*_pending(org_id))
    return await count_members(db, org_id) + int((await db.execute(pending)).scalar_one())


async def is_member(db: AsyncSession, *, org_id: int, user_id: int) -> bool:
    query = select(Membership.id).where(Membership.org_id == org_id, Membership.user_id == user_id)
    return (await db.execute(query)).first() is not None


async def list_invitations(db: AsyncSession, *, org_id: int) -> list[InvitationRead]:
    rows = await db.execute(
        select(Invitation, User.email)
        .outerjoin(User, User.id == Invitation.invited_by_id)
        .where(Invitation.org_id == org_id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return [_read(invitation, email) for invitation, email in rows]


async def _get(db: AsyncSession, *, org_id: int, invitation_id: int) -> Invitation:
    invitation = await db.get(Invitation, invitation_id)
    if invitation is None or invitation.org_id != org_id:
        raise NotFound("Invitation not found")
    return invitation


async def _organization(db: AsyncSession, org_id: int) -> Organization:
    org = await db.get(Organization, org_id)
    assert org is not None
    return org


def _invitation_email(
    ctx: Context, *, org: Organization, invitation: Invitation, token: str
) -> Email:
    link = f"{ctx.settings.resolved_public_url}/register?invitation={token}"
    expires = invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return Email(
        to=invitation.email,
        subject=f"You are invited to join {org.name} on Upmetr",
        text=(
            f"{ctx.auth.email} invited you to join {org.name} on Upmetr as {invitation.role}.\n\n"
            f"Create your account with this link:\n{link}\n\n"
            f"The link works until {expires}. If you did not expect this, ignore this email.\n"
        ),
    )


async def create_invitation(ctx: Context, *, data: InvitationCreate) -> InvitationRead:
    """Invite `data.email`; an existing account joins at once, others get a registration link."""
    db, org_id = ctx.db, ctx.auth.org_id
    email = str(data.email).lower()
    org = await _organization(db, org_id)
    user = (await db.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if user is not None and await is_member(db, org_id=org_id, user_id=user.id):
        raise Conflict(f"{email} is already a member of this organization")
    pending = select(Invitation.id).where(*_pending(org_id), Invitation.email == email)
    if (await db.execute(pending)).first() is not None:
        raise Conflict(f"A pending invitation for {email} exists; resend it instead")
    await check_limit(db, org_id, Limit.users, current=await count_seats(db, org_id))

    now = _now()
    invitation = Invitation(
        org_id=org_id,
        email=email,
        role=data.role.value,
        token_hash=hash_secret(new_secret()),
        invited_by_id=ctx.auth.user_id,
        created_at=now,
        expires_at=now + timedelta(days=ctx.settings.invitation_days),
    )
    if user is not None:
        # An existing account needs no registration: it joins now and is told by email.
        invitation.accepted_at = now
        db.add(invitation)
        db.add(Membership(user_id=user.id, org_id=org_id, role=data.role.value))
        await db.flush()
        ctx.send_email(
            Email(
                to=email,
                subject=f"You were added to {org.name} on Upmetr",
                text=(
                    f"{ctx.auth.email} added you to {org.name} on Upmetr as {data.role.value}.\n\n"
                    f"Sign in at {ctx.settings.resolved_public_url} and switch to {org.name}.\n"
                ),
            )
        )
        detail = f"{email} ({data.role.value}) joined at once: the account exists"
    else:
        token = new_secret()
        invitation.token_hash = hash_secret(token)
        db.add(invitation)
        await db.flush()
        ctx.send_email(_invitation_email(ctx, org=org, invitation=invitation, token=token))
        detail = f"invited {email} as {data.role.value}"
    await audit.record(
        ctx,
        action="invitation.created",
        resource_type="invitation",
        resource_id=invitation.id,
        detail=detail,
    )
    return _read(invitation, ctx.auth.email)


async def revoke_invitation(ctx: Context, *, invitation_id: int) -> None:
    invitation = await _get(ctx.db, org_id=ctx.auth.org_id, invitation_id=invitation_id)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation has already been accepted; remove the member instead")
    if invitation.revoked_at is not None:
        return
    invitation.revoked_at = _now()
    await ctx.db.flush()
    await audit.record(
        ctx,
        action="invitation.revoked",
        resource_type="invitation",
        resource_id=invitation.id,
        detail=f"revoked the invitation of {invitation.email}",
    )


async def resend_invitation(ctx: Context, *, invitation_id: int) -> InvitationRead:
    """A new token and expiry (the old link stops working) and the email again."""
    db, org_id = ctx.db, ctx.auth.org_id
    invitation = await _get(db, org_id=org_id, invitation_id=invitation_id)
    status = status_of(invitation)
    if status in ("accepted", "revoked"):
        raise Conflict(f"This invitation is {status} and cannot be resent")
    if status == "expired":
        # An expired invitation held no seat; renewing it takes one again.
        await check_limit(db, org_id, Limit.users, current=await count_seats(db, org_id))
    token = new_secret()
    now = _now()
    invitation.token_hash = hash_secret(token)
    invitation.expires_at = now + timedelta(days=ctx.settings.invitation_days)
    await db.flush()
    org = await _organization(db, org_id)
    ctx.send_email(_invitation_email(ctx, org=org, invitation=invitation, token=token))
    await audit.record(
        ctx,
        action="invitation.resent",
        resource_type="invitation",
        resource_id=invitation.id,
        detail=f"resent the invitation of {invitation.email}",
    )
    inviter = await db.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    return _read(invitation, inviter.email if inviter else None)


async def join_by_token(ctx: Context, *, token: str, user_id: int, email: str) -> Membership:
    """Accept an invitation as the account (`user_id`, `email`); returns the new membership.

    Also used by registration, where the caller is not signed in yet, so the audit entry
    names the user and the organization explicitly.
    """
    db = ctx.db
    invitation = (
        await db.execute(select(Invitation).where(Invitation.token_hash == hash_secret(token)))
    ).scalar_one_or_none()
    if invitation is None:
        raise BadRequest("This invitation link is not valid")
    status = status_of(invitation)
    if status == "accepted":
        raise Conflict("This invitation has already been accepted")
    if status in ("revoked", "expired"):
        raise BadRequest(f"This invitation has been {status}; ask for a new one")
    if invitation.email != email.lower():
        raise Forbidden(
            "This invitation was sent to another email address; sign in with that account"
        )
    if await is_member(db, org_id=invitation.org_id, user_id=user_id):
        raise Conflict("You are already a member of this organization")
    # The pending invitation already held a seat; this only catches a plan downgrade since.
    await check_limit(
        db, invitation.org_id, Limit.users, current=await count_members(db, invitation.org_id)
    )
    invitation.accepted_at = _now()
    membership = Membership(user_id=user_id, org_id=invitation.org_id, role=invitation.role)
    db.add(membership)
    await db.flush()
    await audit.record(
        ctx,
        action="invitation.accepted",
        resource_type="invitation",
        resource_id=invitation.id,
        detail=f"{email.lower()} joined as {invitation.role}",
        org_id=invitation.org_id,
        user_id=user_id,
        user_email=email.lower(),
    )
    return membership
