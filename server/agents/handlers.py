"""HTTP handlers for /agents: parse -> call service -> serialize."""

from __future__ import annotations

from aiohttp import web

from server.agents import install
from server.agents import service as agents
from server.http.errors import NotFound
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


async def install_script(call: Call) -> web.Response:
    """GET /agents/{id}/install-script"""
    script = await agents.install_script(
        call.ctx, agent_id=call.path["id"], server_url=_server_url(call)
    )
    return web.Response(text=script, content_type=install.SCRIPT_MEDIA_TYPE, charset="utf-8")


async def agent_wheel(call: Call) -> web.Response:
    """GET /agent/{filename}: the agent's own wheel, which install scripts fetch."""
    name, data = install.agent_wheel()
    if call.path["filename"] != name:
        raise NotFound(f"No such file; this server serves {name}")
    return web.Response(
        body=data, content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


def _server_url(call: Call) -> str:
    """Where the host reaches this server: the public URL when one is set, else the one
    the member's request came to."""
    if call.settings.public_url:
        return call.settings.resolved_public_url
    return str(call.request.url.origin())
