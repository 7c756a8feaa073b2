"""HTTP handlers: parse -> call service -> serialize. (being written)"""

from __future__ import annotations

from typing import Any

from server.http.routing import Call


async def list_plans(call: Call) -> Any:
    """GET /billing/plans"""
    raise NotImplementedError
