"""Who an SSH connection is, and the API session it gets: the database side of ssh-serve.

A key's fingerprint names its account (server/users/ssh_keys.py). Each SSH session (a
console or one command) starts an API session for that account, like a sign-in, that lives
`ssh_session_hours` at most and is signed out when the SSH session ends, with every session
the console switched to from it (another organization). Members with MFA give a code first,
unless their organization lets a key count as the second factor; wrong codes are throttled
as a sign-in's are. Sessions opened and closed are audited with the key's fingerprint and
the client's ip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from server.audit import service as audit
from server.auth import mfa, throttle
from server.auth import sessions as auth_sessions
from server.http.errors import TooManyRequests
from server.http.principal import Principal
from server.orgs.models import Membership, Organization
from server.orgs.service import settings_of
from server.service_context import Context, Runtime, system_transaction
from server.users.models import SshKey, User
from server.users.ssh_keys import owner_of
from shared.api.common import Role

USER_AGENT = "upmetr ssh-serve"


@dataclass(frozen=True)
class Identity:
    """The account a key proved, and which key."""

    user_id: int
    email: str
    key_id: int
    key_name: str
    fingerprint: str


@dataclass(frozen=True)
class Admission:
    """An SSH session let in, before its API session starts: where, and what it runs."""

    identity: Identity
    org_id: int
    org_slug: str
    needs_code: bool
    ip: str | None
    what: str  # "console", or "command: ..."


@dataclass(frozen=True)
class Opened:
    """An SSH session's API session: its tokens."""

    admission: Admission
    session_id: int
    access_token: str
    refresh_token: str
    started: float


class Gate:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def identify(self, fingerprint: str) -> Identity | None:
        """The account of the key with this fingerprint (a key deleted or an account
        deactivated is None at once: nothing is cached)."""
        async with system_transaction(self.runtime) as ctx:
            found = await owner_of(ctx.db, fingerprint)
            if found is None:
                return None
            key, user = found
            await ctx.db.execute(
                update(SshKey).where(SshKey.id == key.id).values(last_used_at=datetime.now(UTC))
            )
            return Identity(user.id, user.email, key.id, key.name, key.fingerprint)

    async def admit(
        self, identity: Identity, *, username: str, ip: str | None, what: str
    ) -> Admission:
        """Where the session opens: the organization the SSH user name names (its slug),
        else the one a sign-in lands in; and whether a code must come first."""
        async with system_transaction(self.runtime) as ctx:
            org = await self._organization(ctx, identity.user_id, username)
            user = await ctx.db.get(User, identity.user_id)
            assert user is not None
            needs_code = user.mfa_enabled and not settings_of(org).ssh_key_counts_as_mfa
            return Admission(identity, org.id, org.slug, needs_code, ip, what)

    async def start(self, admission: Admission) -> Opened:
        """The API session of an admitted SSH session (its second factor given, if asked)."""
        identity = admission.identity
        async with system_transaction(self.runtime) as ctx:
            ctx.ip, ctx.user_agent = admission.ip, USER_AGENT
            session, pair = await auth_sessions.begin_session(
                ctx,
                user_id=identity.user_id,
                org_id=admission.org_id,
                lifetime=timedelta(hours=ctx.settings.ssh_session_hours),
            )
            session_id = session.id
            await audit.record(
                _as_member(ctx, identity, admission.org_id, session_id),
                action="ssh.session_opened",
                resource_type="ssh_key",
                resource_id=identity.key_id,
                detail=f"{admission.what}; key {identity.key_name} {identity.fingerprint}",
            )
        return Opened(
            admission=admission,
            session_id=session_id,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            started=time.monotonic(),
        )

    async def check_code(self, admission: Admission, code: str) -> str | None:
        """None when `code` is the member's TOTP (or a backup code), else why not. Wrong
        codes are throttled as a sign-in's are (server/auth/throttle.py) and audited."""
        identity = admission.identity
        async with system_transaction(self.runtime) as ctx:
            ctx.ip, ctx.user_agent = admission.ip, USER_AGENT
            try:
                await throttle.check(ctx, identity.email, identity.user_id)
            except TooManyRequests as refused:
                return refused.detail
            user = await ctx.db.get(User, identity.user_id)
            if user is not None and await mfa.verify_code(ctx, user, code):
                await throttle.succeeded(ctx, identity.email)
                return None
            await throttle.failed(ctx, identity.email)
            audit.record_failure(
                _as_member(ctx, identity, admission.org_id, None),
                action="ssh.mfa_failed",
                resource_type="ssh_key",
                resource_id=identity.key_id,
                detail=f"key {identity.fingerprint}",
            )
            return "That code is not right."

    async def close(self, opened: Opened, *, reason: str) -> None:
        """Sign the session out (and those switched from it), and audit how long it lasted."""
        admission, identity = opened.admission, opened.admission.identity
        async with system_transaction(self.runtime) as ctx:
            ctx.ip, ctx.user_agent = admission.ip, USER_AGENT
            await auth_sessions.revoke_with_switches(
                ctx.db, opened.session_id, reason=f"ssh session ended: {reason}"
            )
            seconds = round(time.monotonic() - opened.started)
            await audit.record(
                _as_member(ctx, identity, admission.org_id, opened.session_id),
                action="ssh.session_closed",
                resource_type="ssh_key",
                resource_id=identity.key_id,
                detail=(
                    f"{admission.what}; {reason} after {seconds} s; "
                    f"key {identity.key_name} {identity.fingerprint}"
                ),
            )

    @staticmethod
    async def _organization(ctx: Context, user_id: int, username: str) -> Organization:
        named = await ctx.db.scalar(
            select(Organization)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == user_id, Organization.slug == username.lower())
        )
        if named is not None:
            return named
        org = await ctx.db.get(Organization, await auth_sessions.default_org(ctx.db, user_id))
        assert org is not None
        return org


def _as_member(ctx: Context, identity: Identity, org_id: int, session_id: int | None) -> Context:
    """The context as the member, so audit entries name them (their role plays no part)."""
    ctx.actor = Principal(
        user_id=identity.user_id,
        email=identity.email,
        org_id=org_id,
        role=Role.viewer,
        is_platform_admin=False,
        session_id=session_id,
    )
    return ctx
