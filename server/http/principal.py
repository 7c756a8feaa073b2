"""Who is calling: the result of authenticating a request."""

from __future__ import annotations

from dataclasses import dataclass

from shared.api.common import Role


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    org_id: int
    role: Role
    is_platform_admin: bool
    session_id: int | None = None  # set for access tokens (the refresh-token family)
    api_key_id: int | None = None  # set for API keys
    # Set for a platform admin's read-only impersonation token: the admin's user id (then
    # also user_id). Routing refuses its writes and /admin (server/http/routing.py).
    impersonated_by: int | None = None

    @property
    def rate_limit_key(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"


@dataclass(frozen=True)
class AgentPrincipal:
    """An infra agent, by its token: it may post its metrics (POST /agents/ingest) only."""

    agent_id: int
    org_id: int

    @property
    def email(self) -> str:  # how audit entries and logs name it
        return f"agent:{self.agent_id}"

    @property
    def user_id(self) -> None:
        return None

    @property
    def rate_limit_key(self) -> str:
        return f"agent:{self.agent_id}"


Caller = Principal | AgentPrincipal
