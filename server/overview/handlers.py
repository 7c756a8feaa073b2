"""HTTP handlers for /overview: parse -> call service -> serialize."""

from __future__ import annotations

from server.http.routing import Call
from server.overview import service as overview
from shared.api.overview import Overview


async def get_overview(call: Call) -> Overview:
    """GET /overview"""
    return await overview.overview(call.db, org_id=call.auth.org_id, query=call.query)
