"""Agent tokens: made once, shown once, stored as a hash; the ingest route's authentication."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.models import Agent
from server.auth.tokens import hash_secret, masked, new_secret
from server.http.errors import Forbidden, Unauthorized
from server.http.principal import AgentPrincipal
from server.orgs.models import Organization

AGENT_TOKEN_PREFIX = "upa_"
INVALID_TOKEN = "Invalid agent token"


def new_token() -> tuple[str, str, str]:
    """A fresh token, its hash (what is stored) and its hint (`****ab12`)."""
    token = new_secret(AGENT_TOKEN_PREFIX)
    return token, hash_secret(token), masked(token[-4:])


# Built once: every agent post is authenticated with it.
_BY_TOKEN_HASH = (
    select(Agent.id, Agent.org_id, Organization.status)
    .join(Organization, Organization.id == Agent.org_id)
    .where(Agent.token_hash == bindparam("token_hash"))
)


async def authenticate_agent(db: AsyncSession, token: str) -> AgentPrincipal:
    """The agent whose token this is; a token regenerated since is unknown at once."""
    found = await db.execute(_BY_TOKEN_HASH, {"token_hash": hash_secret(token)})
    row = found.one_or_none()
    if row is None:
        raise Unauthorized(INVALID_TOKEN)
    if row.status != "active":
        raise Forbidden("This organization is suspended")
    return AgentPrincipal(agent_id=row.id, org_id=row.org_id)
