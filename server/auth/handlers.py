"""HTTP handlers of /auth: parse -> call service -> serialize."""

from __future__ import annotations

from aiohttp import web

from server.audit import service as audit
from server.auth import api_keys, mfa, recovery, service, sessions
from server.http.errors import NotFound
from server.http.routing import Call
from shared.api.auth import (
    ApiKeyCreated,
    ApiKeyRead,
    BackupCodesResponse,
    MeResponse,
    MfaChallenge,
    MfaSetupResponse,
    OrganizationSummary,
    RegisterResponse,
    SessionRead,
    TokenPair,
)
from shared.api.common import Message


async def register(call: Call) -> RegisterResponse:
    """POST /auth/register"""
    return await service.register(call.ctx, call.body)


async def login(call: Call) -> TokenPair | MfaChallenge:
    """POST /auth/login"""
    return await service.login(call.ctx, call.body)


async def mfa_verify(call: Call) -> TokenPair:
    """POST /auth/mfa/verify"""
    return await service.mfa_verify(call.ctx, mfa_token=call.body.mfa_token, code=call.body.code)


async def refresh(call: Call) -> TokenPair | web.Response:
    """POST /auth/refresh"""
    rotation = await sessions.rotate(call.ctx, call.body.refresh_token)
    if rotation.reused:
        assert rotation.session is not None
        # Answered, not raised: the family's revocation must commit with this request.
        audit.record_failure(
            call.ctx,
            action="auth.refresh_reuse",
            resource_type="session",
            resource_id=rotation.session.id,
            org_id=rotation.session.org_id,
            user_id=rotation.session.user_id,
            detail="a spent refresh token was presented; the session was revoked",
        )
        return web.json_response(
            {"detail": "Refresh token was already used; the session has been signed out"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    assert rotation.pair is not None
    return rotation.pair


async def logout(call: Call) -> None:
    """POST /auth/logout"""
    session = await sessions.session_of(call.db, call.body.refresh_token)
    if session is not None and session.revoked_at is None:
        await sessions.revoke(call.db, session, reason="signed out")
        await audit.record(
            call.ctx,
            action="auth.logout",
            resource_type="session",
            resource_id=session.id,
            org_id=session.org_id,
            user_id=session.user_id,
        )


async def select_org(call: Call) -> TokenPair:
    """POST /auth/select-org"""
    return await service.select_org(call.ctx, call.body.organization_id)


async def me(call: Call) -> MeResponse:
    """GET /auth/me"""
    return await service.me(call.ctx)


async def organizations(call: Call) -> list[OrganizationSummary]:
    """GET /auth/organizations"""
    return await service.organizations(call.ctx)


async def password_change(call: Call) -> None:
    """POST /auth/password/change"""
    await service.change_password(call.ctx, call.body)


async def password_forgot(call: Call) -> Message:
    """POST /auth/password/forgot"""
    return await recovery.request_password_reset(call.ctx, call.body.email)


async def password_reset(call: Call) -> None:
    """POST /auth/password/reset"""
    await recovery.reset_password(
        call.ctx, token=call.body.token, new_password=call.body.new_password
    )


async def magic_link(call: Call) -> Message:
    """POST /auth/magic-link"""
    return await recovery.request_magic_link(call.ctx, call.body.email)


async def magic_link_verify(call: Call) -> TokenPair | MfaChallenge:
    """POST /auth/magic-link/verify"""
    return await recovery.sign_in_with_magic_link(call.ctx, call.body.token)


async def mfa_setup(call: Call) -> MfaSetupResponse:
    """POST /auth/mfa/setup"""
    return await mfa.setup(call.ctx)


async def mfa_enable(call: Call) -> BackupCodesResponse:
    """POST /auth/mfa/enable"""
    return await mfa.enable(call.ctx, call.body.code)


async def mfa_disable(call: Call) -> None:
    """POST /auth/mfa/disable"""
    await mfa.disable(call.ctx, call.body.code)


async def mfa_backup_codes(call: Call) -> BackupCodesResponse:
    """POST /auth/mfa/backup-codes"""
    return await mfa.regenerate_backup_codes(call.ctx, call.body.code)


async def list_sessions(call: Call) -> list[SessionRead]:
    """GET /auth/sessions"""
    current = call.auth.session_id
    return [
        SessionRead(
            id=session.id,
            user_agent=session.user_agent,
            ip=session.ip,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            current=session.id == current,
        )
        for session in await sessions.active_sessions(call.db, call.auth.user_id)
    ]


async def revoke_session(call: Call) -> None:
    """DELETE /auth/sessions/{id}"""
    session = await sessions.own_session(call.db, call.auth.user_id, call.path["id"])
    if session is None:
        raise NotFound("Session not found")
    if session.revoked_at is None:
        await sessions.revoke(call.db, session, reason="revoked by user")
        await audit.record(
            call.ctx, action="auth.session_revoked", resource_type="session", resource_id=session.id
        )


async def list_api_keys(call: Call) -> list[ApiKeyRead]:
    """GET /auth/api-keys"""
    return await api_keys.list_keys(call.ctx)


async def create_api_key(call: Call) -> ApiKeyCreated:
    """POST /auth/api-keys"""
    return await api_keys.create(call.ctx, call.body)


async def revoke_api_key(call: Call) -> None:
    """DELETE /auth/api-keys/{id}"""
    await api_keys.revoke(call.ctx, call.path["id"])
