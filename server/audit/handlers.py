"""HTTP handlers: parse -> call service -> serialize. (being written)"""

from __future__ import annotations

from typing import Any

from server.http.routing import Call


async def list_logs(call: Call) -> Any:
    """GET /audit-logs"""
    raise NotImplementedError


async def summary(call: Call) -> Any:
    """GET /audit-logs/summary"""
    raise NotImplementedError


async def export(call: Call) -> Any:
    """GET /audit-logs/export"""
    raise NotImplementedError


async def get_log(call: Call) -> Any:
    """GET /audit-logs/{id}"""
    raise NotImplementedError
