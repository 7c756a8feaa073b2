"""Infra agents: the hosts that report metrics, and the batch an agent posts.

An agent is created by a member (`AgentCreate`), which gives a token shown once. The agent
program (`upmetr-agent`) posts an `IngestBatch` every interval with that token; samples carry
their own `ts`, so a batch replayed from the agent's spool fills history in order.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.api.common import ApiModel, Name, OneLine, ReadModel, UpdateModel, UtcDatetime
from shared.api.monitors import Tag

Percent = Annotated[float, Field(ge=0, le=100)]
Count = Annotated[int, Field(ge=0, le=2**62)]
Rate = Annotated[float, Field(ge=0, le=1e15)]
Label = Annotated[OneLine, Field(min_length=1, max_length=255)]

# What one post may carry: an hour of spool at a 10 s interval fits in one post.
MAX_SAMPLES = 500
MAX_CONTAINERS = 200


class AgentStatus(StrEnum):
    pending = "pending"  # created, never reported
    online = "online"
    offline = "offline"  # missed three intervals


class DiskUsage(ApiModel):
    mount: Label
    total_bytes: Count
    used_bytes: Count
    pct: Percent


class NetRates(ApiModel):
    """Rates over the interval before the sample, from the host's counters (all interfaces
    but loopback)."""

    rx_bps: Rate = Field(description="bytes received per second")
    tx_bps: Rate = Field(description="bytes sent per second")
    errors_per_min: Rate = Field(0, description="errors and drops in and out, per minute")


class Sample(ApiModel):
    ts: UtcDatetime
    cpu_pct: Percent
    mem_pct: Percent
    mem_used: Count
    disk: list[DiskUsage] = Field(default_factory=list, max_length=64)
    net: NetRates
    load: list[Annotated[float, Field(ge=0, le=1e6)]] = Field(
        default_factory=list, max_length=3, description="1, 5 and 15 minute load averages"
    )


class ContainerStats(ApiModel):
    name: Label
    image: Annotated[OneLine, Field(max_length=500)] = ""
    state: Annotated[OneLine, Field(max_length=50)] = Field(
        description="Docker's state: running, exited, paused, restarting, ..."
    )
    cpu_pct: Annotated[float, Field(ge=0, le=100_000)] = Field(
        0, description="of one core, so a busy container on 4 cores can show 400"
    )
    mem_bytes: Count = 0
    mem_limit: Count | None = None
    mem_pct: Percent | None = Field(None, description="of its limit, or of the host's memory")


class HostFacts(ApiModel):
    kernel: Annotated[OneLine, Field(max_length=200)] | None = None
    arch: Annotated[OneLine, Field(max_length=50)] | None = None
    cpu_model: Annotated[OneLine, Field(max_length=200)] | None = None
    cpu_count: Annotated[int, Field(ge=1, le=100_000)] | None = None
    mem_total: Count | None = None
    boot_time: UtcDatetime | None = None


class IngestBatch(ApiModel):
    hostname: Annotated[OneLine, Field(min_length=1, max_length=253)]
    os: Annotated[OneLine, Field(max_length=200)] = ""
    agent_version: Annotated[OneLine, Field(max_length=50)] = ""
    interval_seconds: int = Field(ge=1, le=3600)
    facts: HostFacts | None = None
    samples: list[Sample] = Field(min_length=1, max_length=MAX_SAMPLES)
    containers: list[ContainerStats] = Field(default_factory=list, max_length=MAX_CONTAINERS)


class IngestAccepted(ReadModel):
    accepted: int = Field(description="samples stored")
    duplicates: int = Field(description="samples whose ts was stored already (ignored)")
    late: int = Field(description="stored samples too old to be judged by alert rules")


class AgentCreate(ApiModel):
    name: Name
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class AgentUpdate(UpdateModel):
    not_null = frozenset({"name", "tags"})

    name: Name | None = None
    tags: list[Tag] | None = Field(None, max_length=20)


class AgentRead(ReadModel):
    id: int
    name: str
    tags: list[str]
    status: AgentStatus
    last_seen_at: UtcDatetime | None
    hostname: str | None
    os: str | None
    agent_version: str | None
    interval_seconds: int | None
    facts: HostFacts | None
    token_hint: str = Field(description="the token's last characters, as ****ab12")
    latest_at: UtcDatetime | None = Field(None, description="the newest sample's ts")
    cpu_pct: float | None = Field(None, description="of the newest sample; null before one")
    mem_pct: float | None = None
    disk_pct: float | None = Field(None, description="the fullest disk's, newest sample")
    created_at: UtcDatetime
    updated_at: UtcDatetime


class AgentWithToken(AgentRead):
    """An agent with its token: answered once, on create and regenerate-token."""

    token: str


class AgentQuery(ApiModel):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=200)
    status: AgentStatus | None = None
    tag: str | None = Field(None, max_length=50)
    q: str | None = Field(None, max_length=200, description="matches name or hostname")
