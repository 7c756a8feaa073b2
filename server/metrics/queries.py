"""Reading agent metrics: series by range, the latest sample, containers, the fleet.

A range reads the finest data that covers it, bucketed to ~300 points or fewer:
1h the raw samples; 24h the raw samples in 5-minute buckets (raw is kept 24 h, so the
newest minutes are there too); 7d and 30d the 5-minute rollups in 30-minute and 2-hour
buckets (the rollup engine keeps them a few minutes behind). A bucket's average weighs
each rollup by its sample count.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.models import Agent, AgentContainer
from server.agents.service import agent_of
from server.http.errors import BadRequest, NotFound
from server.metrics import blocks
from server.metrics.models import (
    FIVE_MINUTES,
    HOST_COLUMNS,
    SERIES_SCALE,
)
from server.metrics.storage import from_epoch
from server.service_context import Context
from shared.api.agents import AgentStatus, Sample
from shared.api.metrics import (
    ContainerMetric,
    ContainerRead,
    ContainerSeries,
    ContainerSeriesQuery,
    FleetSummary,
    HostFigure,
    HostMetric,
    LatestMetrics,
    MetricSeries,
    Point,
    Series,
    SeriesQuery,
)


@dataclass(frozen=True)
class Span:
    seconds: int
    bucket: int  # 0: raw samples, one point each
    raw: bool  # read raw samples (else the 5-minute rollups)


SPANS: dict[str, Span] = {
    "1h": Span(3600, 0, raw=True),
    "24h": Span(86_400, FIVE_MINUTES, raw=True),
    "7d": Span(7 * 86_400, 1800, raw=False),
    "30d": Span(30 * 86_400, 7200, raw=False),
}
DEFAULT_METRICS = ("cpu_pct", "mem_pct", "disk_pct", "load1")
TOP = 5
_NOW_ON = 2**62  # a range's end: whatever is stored (a host ahead of the clock included)


def _metrics_of(text: str | None) -> list[HostMetric]:
    names = [name.strip() for name in (text or ",".join(DEFAULT_METRICS)).split(",")]
    wanted: list[HostMetric] = []
    for name in filter(None, names):
        try:
            wanted.append(HostMetric(name))
        except ValueError:
            known = ", ".join(metric.value for metric in HostMetric)
            raise BadRequest(f"query field 'metrics': {name!r} is not one of {known}") from None
    if not wanted:
        raise BadRequest("query field 'metrics': name at least one metric")
    return list(dict.fromkeys(wanted))


def _points(rows: Iterable[tuple[Any, ...]], span: Span, scale: int) -> list[Point]:
    """Rows (time, value) of raw samples, or (time, min, avg, max, n) of 5-minute rollups,
    as the span's points: min, average (a rollup's weighted by its sample count) and max."""
    buckets: dict[int, list[float]] = {}
    for at, *values in rows:
        if span.raw:
            lo = mean = hi = values[0]
            weight = 1
        else:
            lo, mean, hi, weight = values
        if mean is None:
            continue
        bucket = at - at % span.bucket if span.bucket else at
        found = buckets.get(bucket)
        if found is None:
            buckets[bucket] = [lo, hi, mean * weight, weight]
            continue
        found[0] = min(found[0], lo)
        found[1] = max(found[1], hi)
        found[2] += mean * weight
        found[3] += weight
    return [
        Point(ts=from_epoch(at), min=lo / scale, avg=total / weight / scale, max=hi / scale)
        for at, (lo, hi, total, weight) in buckets.items()
    ]


def _columns(span: Span, column: str) -> tuple[str, ...]:
    """What a span reads of a column: the raw value, or a rollup's stats and count."""
    if span.raw:
        return (column,)
    prefix = f"{column}_" if column else ""
    return f"{prefix}min", f"{prefix}avg", f"{prefix}max", "n"


async def _host_series(
    db: AsyncSession, agent_id: int, span: Span, since: int, metric: str
) -> list[Point]:
    column, scale = HOST_COLUMNS[metric]
    source = blocks.HOST_RAW if span.raw else blocks.HOST_FIVES
    found = await blocks.read(db, source, agent_id, since, _NOW_ON, _columns(span, column))
    return _points(found.get("", ()), span, scale)


async def _labeled_series(
    db: AsyncSession, agent_id: int, span: Span, since: int, metric: str,
    label: str | None = None,
) -> list[Series]:  # fmt: skip
    source = blocks.SERIES_RAW if span.raw else blocks.SERIES_FIVES
    columns = _columns(span, "value" if span.raw else "")
    found = await blocks.read(
        db, source, agent_id, since, _NOW_ON, columns, metric=metric, label=label
    )
    scale = SERIES_SCALE[metric]
    return [
        Series(metric=metric, label=name, points=_points(found[name], span, scale))
        for name in sorted(found)
    ]


async def series(ctx: Context, *, agent_id: int, query: SeriesQuery) -> MetricSeries:
    agent = await agent_of(ctx, agent_id)
    span = SPANS[query.range]
    since = int(time.time()) - span.seconds
    found: list[Series] = []
    for metric in _metrics_of(query.metrics):
        if metric is HostMetric.disk_pct:
            found += await _labeled_series(ctx.db, agent.id, span, since, metric.value)
        else:
            points = await _host_series(ctx.db, agent.id, span, since, metric.value)
            found.append(Series(metric=metric.value, label=None, points=points))
    return MetricSeries(
        agent_id=agent.id, range=query.range, resolution_seconds=span.bucket, series=found
    )


async def latest(ctx: Context, *, agent_id: int) -> LatestMetrics:
    agent = await agent_of(ctx, agent_id)
    await ctx.db.refresh(agent, ["latest"])  # deferred: only this read needs the JSON
    sample = Sample.model_validate(agent.latest) if agent.latest else None
    return LatestMetrics(agent_id=agent.id, status=AgentStatus(agent.status), sample=sample)


async def containers(ctx: Context, *, agent_id: int) -> list[ContainerRead]:
    agent = await agent_of(ctx, agent_id)
    rows = await ctx.db.scalars(
        select(AgentContainer)
        .where(AgentContainer.agent_id == agent.id)
        .order_by(AgentContainer.name)
    )
    return [ContainerRead.model_validate(row) for row in rows]


async def container_series(
    ctx: Context, *, agent_id: int, name: str, query: ContainerSeriesQuery
) -> ContainerSeries:
    agent = await agent_of(ctx, agent_id)
    span = SPANS[query.range]
    since = int(time.time()) - span.seconds
    found: list[Series] = []
    for metric in ContainerMetric:
        found += await _labeled_series(ctx.db, agent.id, span, since, metric.value, name)
    known = await ctx.db.scalar(
        select(AgentContainer.name).where(
            AgentContainer.agent_id == agent.id, AgentContainer.name == name
        )
    )
    if not found and known is None:
        raise NotFound("Container not found")
    return ContainerSeries(
        agent_id=agent.id, name=name, range=query.range, resolution_seconds=span.bucket,
        series=found,
    )  # fmt: skip


async def summary(ctx: Context) -> FleetSummary:
    """Counts by status, and over online agents the averages and the busiest hosts, in SQL:
    a fleet of thousands is read as a few aggregate rows, not as its agents."""
    org = Agent.org_id == ctx.auth.org_id
    by_status = select(Agent.status, func.count()).where(org).group_by(Agent.status)
    counts: dict[str, int] = {status: count for status, count in await ctx.db.execute(by_status)}
    online = (org, Agent.status == AgentStatus.online.value)
    averages = select(func.avg(Agent.cpu_pct), func.avg(Agent.mem_pct), func.avg(Agent.disk_pct))
    means = (await ctx.db.execute(averages.where(*online))).one()
    tops = {}
    for name, column in (("cpu", Agent.cpu_pct), ("mem", Agent.mem_pct), ("disk", Agent.disk_pct)):
        rows = await ctx.db.execute(
            select(Agent.id, Agent.name, column)
            .where(*online, column.is_not(None))
            .order_by(column.desc(), Agent.name)
            .limit(TOP)
        )
        tops[name] = [HostFigure(agent_id=i, name=n, value=v) for i, n, v in rows]
    return FleetSummary(
        total=sum(counts.values()),
        online=counts.get(AgentStatus.online.value, 0),
        offline=counts.get(AgentStatus.offline.value, 0),
        pending=counts.get(AgentStatus.pending.value, 0),
        avg_cpu_pct=_rounded(means[0]),
        avg_mem_pct=_rounded(means[1]),
        avg_disk_pct=_rounded(means[2]),
        top_cpu=tops["cpu"],
        top_mem=tops["mem"],
        top_disk=tops["disk"],
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
