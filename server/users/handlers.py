"""HTTP handlers: parse -> call service -> serialize. (being written)"""

from __future__ import annotations

from typing import Any

from server.http.routing import Call


async def list_members(call: Call) -> Any:
    """GET /users"""
    raise NotImplementedError


async def create_member(call: Call) -> Any:
    """POST /users"""
    raise NotImplementedError


async def get_profile(call: Call) -> Any:
    """GET /users/me"""
    raise NotImplementedError


async def update_profile(call: Call) -> Any:
    """PATCH /users/me"""
    raise NotImplementedError


async def put_avatar(call: Call) -> Any:
    """PUT /users/me/avatar"""
    raise NotImplementedError


async def delete_avatar(call: Call) -> Any:
    """DELETE /users/me/avatar"""
    raise NotImplementedError


async def list_invitations(call: Call) -> Any:
    """GET /users/invitations"""
    raise NotImplementedError


async def create_invitation(call: Call) -> Any:
    """POST /users/invitations"""
    raise NotImplementedError


async def accept_invitation(call: Call) -> Any:
    """POST /users/invitations/accept"""
    raise NotImplementedError


async def revoke_invitation(call: Call) -> Any:
    """DELETE /users/invitations/{id}"""
    raise NotImplementedError


async def resend_invitation(call: Call) -> Any:
    """POST /users/invitations/{id}/resend"""
    raise NotImplementedError


async def get_member(call: Call) -> Any:
    """GET /users/{id}"""
    raise NotImplementedError


async def update_member(call: Call) -> Any:
    """PATCH /users/{id}"""
    raise NotImplementedError


async def remove_member(call: Call) -> Any:
    """DELETE /users/{id}"""
    raise NotImplementedError


async def get_avatar(call: Call) -> Any:
    """GET /users/{id}/avatar"""
    raise NotImplementedError
