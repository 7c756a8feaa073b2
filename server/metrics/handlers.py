"""HTTP handlers for /metrics: parse -> call service -> serialize."""

from __future__ import annotations

from server.http.routing import Call
from server.metrics import queries
from shared.api.metrics import (
    ContainerRead,
    ContainerSeries,
    FleetSummary,
    LatestMetrics,
    MetricSeries,
)


async def summary(call: Call) -> FleetSummary:
    """GET /metrics/summary"""
    return await queries.summary(call.ctx)


async def agent_series(call: Call) -> MetricSeries:
    """GET /metrics/agents/{id}"""
    return await queries.series(call.ctx, agent_id=call.path["id"], query=call.query)


async def agent_latest(call: Call) -> LatestMetrics:
    """GET /metrics/agents/{id}/latest"""
    return await queries.latest(call.ctx, agent_id=call.path["id"])


async def agent_containers(call: Call) -> list[ContainerRead]:
    """GET /metrics/agents/{id}/containers"""
    return await queries.containers(call.ctx, agent_id=call.path["id"])


async def container_series(call: Call) -> ContainerSeries:
    """GET /metrics/agents/{id}/containers/{name}"""
    return await queries.container_series(
        call.ctx, agent_id=call.path["id"], name=call.path["name"], query=call.query
    )
