"""HTTP handlers for /agents: parse -> call service -> serialize."""

from __future__ import annotations

from server.agents import service as agents
from server.http.routing import Call
from shared.api.agents import AgentRead, AgentWithToken, IngestAccepted
from shared.api.common import Page


async def list_agents(call: Call) -> Page[AgentRead]:
    """GET /agents"""
    return await agents.list_agents(call.ctx, query=call.query)


async def create_agent(call: Call) -> AgentWithToken:
    """POST /agents"""
    return await agents.create_agent(call.ctx, data=call.body)


async def get_agent(call: Call) -> AgentRead:
    """GET /agents/{id}"""
    return await agents.get_agent(call.ctx, agent_id=call.path["id"])


async def update_agent(call: Call) -> AgentRead:
    """PATCH /agents/{id}"""
    return await agents.update_agent(call.ctx, agent_id=call.path["id"], data=call.body)


async def delete_agent(call: Call) -> None:
    """DELETE /agents/{id}"""
    await agents.delete_agent(call.ctx, agent_id=call.path["id"])


async def regenerate_token(call: Call) -> AgentWithToken:
    """POST /agents/{id}/regenerate-token"""
    return await agents.regenerate_token(call.ctx, agent_id=call.path["id"])


async def ingest(call: Call) -> IngestAccepted:
    """POST /agents/ingest"""
    return await agents.ingest(call.ctx, batch=call.body)
