"""The `agents` namespace (`/agents`: the hosts that report metrics) and the `metrics`
namespace (`/metrics`: what they reported). Kept in the `endpoint` style of monitors.py."""

from __future__ import annotations

import builtins
import io
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from shared.api.agents import AgentRead, AgentStatus, AgentWithToken
from shared.api.common import Page
from shared.api.metrics import (
    ContainerRead,
    ContainerSeries,
    FleetSummary,
    LatestMetrics,
    MetricRange,
    MetricSeries,
)
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint

AGENTS = "/agents"
METRICS = "/metrics"


def _text_of(buffer: io.BytesIO) -> Callable[[Any], str]:
    """A parser for a body that is not JSON (the install script): the core streams it into
    `buffer`, then parses None; what was streamed is the result."""

    def parse(_data: Any) -> str:
        return buffer.getvalue().decode("utf-8")

    return parse


class Agents(Namespace[M]):
    """Infra agents (`/agents`). Their token is answered once, by create and regenerate."""

    @endpoint
    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        status: AgentStatus | str | None = None,
        tag: str | None = None,
        q: str | None = None,
    ) -> Call[Page[AgentRead]]:
        """`q` matches the name or the hostname."""
        return Call(
            "GET",
            AGENTS,
            parse_as(Page[AgentRead]),
            params=query(page=page, per_page=per_page, status=status, tag=tag, q=q),
        )

    @endpoint
    def get(self, agent_id: int) -> Call[AgentRead]:
        return Call("GET", f"{AGENTS}/{int(agent_id)}", parse_as(AgentRead))

    @endpoint
    def create(self, *, name: str, tags: Iterable[str] | None = None) -> Call[AgentWithToken]:
        """The agent with its token: keep the token, it is not shown again."""
        fields = body(name=name, tags=None if tags is None else builtins.list(tags))
        return Call("POST", AGENTS, parse_as(AgentWithToken), json=fields)

    @endpoint
    def update(
        self, agent_id: int, *, name: str | None = None, tags: Iterable[str] | None = None
    ) -> Call[AgentRead]:
        """Change what is given; None leaves a field as it is."""
        fields = body(name=name, tags=None if tags is None else builtins.list(tags))
        return Call("PATCH", f"{AGENTS}/{int(agent_id)}", parse_as(AgentRead), json=fields)

    @endpoint
    def delete(self, agent_id: int) -> Call[None]:
        return Call("DELETE", f"{AGENTS}/{int(agent_id)}", no_content)

    @endpoint
    def regenerate_token(self, agent_id: int) -> Call[AgentWithToken]:
        """A new token; the old one stops working at once."""
        return Call("POST", f"{AGENTS}/{int(agent_id)}/regenerate-token", parse_as(AgentWithToken))

    @endpoint
    def install_script(self, agent_id: int) -> Call[str]:
        """The shell script that installs the agent as a service reporting to this server."""
        buffer = io.BytesIO()
        return Call(
            "GET",
            f"{AGENTS}/{int(agent_id)}/install-script",
            _text_of(buffer),
            stream_to=buffer,
        )


class Metrics(Namespace[M]):
    """What agents reported (`/metrics`): the fleet, a host's series, its containers."""

    @endpoint
    def summary(self) -> Call[FleetSummary]:
        """Online and offline hosts, fleet averages and the busiest hosts."""
        return Call("GET", f"{METRICS}/summary", parse_as(FleetSummary))

    @endpoint
    def series(
        self,
        agent_id: int,
        *,
        range: MetricRange = "1h",
        metrics: Iterable[str] | None = None,
    ) -> Call[MetricSeries]:
        """Downsampled series of a host; `metrics` default to cpu, mem, disk and load1."""
        names = None if metrics is None else ",".join(str(name) for name in metrics)
        return Call(
            "GET",
            f"{METRICS}/agents/{int(agent_id)}",
            parse_as(MetricSeries),
            params=query(range=range, metrics=names),
        )

    @endpoint
    def latest(self, agent_id: int) -> Call[LatestMetrics]:
        return Call("GET", f"{METRICS}/agents/{int(agent_id)}/latest", parse_as(LatestMetrics))

    @endpoint
    def containers(self, agent_id: int) -> Call[builtins.list[ContainerRead]]:
        """The latest stats of each container of a host."""
        return Call(
            "GET",
            f"{METRICS}/agents/{int(agent_id)}/containers",
            parse_as(builtins.list[ContainerRead]),
        )

    @endpoint
    def container_series(
        self, agent_id: int, name: str, *, range: MetricRange = "1h"
    ) -> Call[ContainerSeries]:
        return Call(
            "GET",
            f"{METRICS}/agents/{int(agent_id)}/containers/{_segment(name)}",
            parse_as(ContainerSeries),
            params=query(range=range),
        )


def _segment(name: str) -> str:
    """A container's name as one path segment: Docker names may hold `.` and `-`, never `/`,
    but quoting keeps a stray one from reaching another route."""
    return quote(name, safe="")
