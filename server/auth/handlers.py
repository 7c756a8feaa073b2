"""HTTP handlers: parse -> call service -> serialize. (being written)"""

from __future__ import annotations

from typing import Any

from server.http.routing import Call


async def register(call: Call) -> Any:
    """POST /auth/register"""
    raise NotImplementedError


async def login(call: Call) -> Any:
    """POST /auth/login"""
    raise NotImplementedError


async def mfa_verify(call: Call) -> Any:
    """POST /auth/mfa/verify"""
    raise NotImplementedError


async def refresh(call: Call) -> Any:
    """POST /auth/refresh"""
    raise NotImplementedError


async def logout(call: Call) -> Any:
    """POST /auth/logout"""
    raise NotImplementedError


async def select_org(call: Call) -> Any:
    """POST /auth/select-org"""
    raise NotImplementedError


async def me(call: Call) -> Any:
    """GET /auth/me"""
    raise NotImplementedError


async def organizations(call: Call) -> Any:
    """GET /auth/organizations"""
    raise NotImplementedError


async def password_change(call: Call) -> Any:
    """POST /auth/password/change"""
    raise NotImplementedError


async def password_forgot(call: Call) -> Any:
    """POST /auth/password/forgot"""
    raise NotImplementedError


async def password_reset(call: Call) -> Any:
    """POST /auth/password/reset"""
    raise NotImplementedError


async def magic_link(call: Call) -> Any:
    """POST /auth/magic-link"""
    raise NotImplementedError


async def magic_link_verify(call: Call) -> Any:
    """POST /auth/magic-link/verify"""
    raise NotImplementedError


async def mfa_setup(call: Call) -> Any:
    """POST /auth/mfa/setup"""
    raise NotImplementedError


async def mfa_enable(call: Call) -> Any:
    """POST /auth/mfa/enable"""
    raise NotImplementedError


async def mfa_disable(call: Call) -> Any:
    """POST /auth/mfa/disable"""
    raise NotImplementedError


async def mfa_backup_codes(call: Call) -> Any:
    """POST /auth/mfa/backup-codes"""
    raise NotImplementedError


async def list_sessions(call: Call) -> Any:
    """GET /auth/sessions"""
    raise NotImplementedError


async def revoke_session(call: Call) -> Any:
    """DELETE /auth/sessions/{id}"""
    raise NotImplementedError


async def list_api_keys(call: Call) -> Any:
    """GET /auth/api-keys"""
    raise NotImplementedError


async def create_api_key(call: Call) -> Any:
    """POST /auth/api-keys"""
    raise NotImplementedError


async def revoke_api_key(call: Call) -> Any:
    """DELETE /auth/api-keys/{id}"""
    raise NotImplementedError
