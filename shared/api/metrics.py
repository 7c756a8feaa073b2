"""Agent metrics as the API serves them: series by range, the latest sample, the fleet."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.api.agents import AgentStatus, Sample
from shared.api.common import ApiModel, ReadModel, UtcDatetime

MetricRange = Literal["1h", "24h", "7d", "30d"]


class HostMetric(StrEnum):
    """A host's series. `disk_pct` has one series per mount (its `label`)."""

    cpu_pct = "cpu_pct"
    mem_pct = "mem_pct"
    disk_pct = "disk_pct"
    load1 = "load1"
    net_rx_bps = "net_rx_bps"
    net_tx_bps = "net_tx_bps"
    net_errors_per_min = "net_errors_per_min"


class ContainerMetric(StrEnum):
    container_cpu_pct = "container_cpu_pct"
    container_mem_pct = "container_mem_pct"
    container_mem_bytes = "container_mem_bytes"


class SeriesQuery(ApiModel):
    range: MetricRange = "1h"
    metrics: str | None = Field(
        None, max_length=500,
        description="comma-separated host metrics (default cpu_pct,mem_pct,disk_pct,load1)",
    )  # fmt: skip


class ContainerSeriesQuery(ApiModel):
    range: MetricRange = "1h"


class Point(ReadModel):
    """One bucket: raw samples have min = avg = max."""

    ts: UtcDatetime
    min: float
    avg: float
    max: float


class Series(ReadModel):
    metric: str
    label: str | None = Field(description="the mount of a disk_pct series; else null")
    points: list[Point]


class MetricSeries(ReadModel):
    agent_id: int
    range: MetricRange
    resolution_seconds: int = Field(description="0 for raw samples, else the bucket's length")
    series: list[Series]


class ContainerSeries(MetricSeries):
    name: str


class LatestMetrics(ReadModel):
    agent_id: int
    status: AgentStatus
    sample: Sample | None = Field(description="null until the agent reports")


class ContainerRead(ReadModel):
    name: str
    image: str
    state: str
    cpu_pct: float
    mem_bytes: int
    mem_limit: int | None
    mem_pct: float | None
    updated_at: UtcDatetime


class HostFigure(ReadModel):
    agent_id: int
    name: str
    value: float


class FleetSummary(ReadModel):
    total: int
    online: int
    offline: int
    pending: int
    avg_cpu_pct: float | None = Field(description="over online hosts; null when none")
    avg_mem_pct: float | None
    avg_disk_pct: float | None = Field(description="each host's fullest disk")
    top_cpu: list[HostFigure]
    top_mem: list[HostFigure]
    top_disk: list[HostFigure]
