"""HTTP handlers: parse -> call service -> serialize. (being written)"""

from __future__ import annotations

from typing import Any

from server.http.routing import Call


async def get_organization(call: Call) -> Any:
    """GET /organization"""
    raise NotImplementedError


async def update_organization(call: Call) -> Any:
    """PATCH /organization"""
    raise NotImplementedError


async def get_logo(call: Call) -> Any:
    """GET /organization/logo"""
    raise NotImplementedError


async def put_logo(call: Call) -> Any:
    """PUT /organization/logo"""
    raise NotImplementedError


async def delete_logo(call: Call) -> Any:
    """DELETE /organization/logo"""
    raise NotImplementedError


async def get_settings(call: Call) -> Any:
    """GET /settings"""
    raise NotImplementedError


async def update_settings(call: Call) -> Any:
    """PATCH /settings"""
    raise NotImplementedError
