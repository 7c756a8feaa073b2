"""`upmetr metrics`: what agents reported. The fleet (summary), a host's series (show), its
latest sample (latest), its containers (containers) and one container's series (container).
AGENT is an agent's id or its name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

import click

from console.cli.agents_commands import AGENT, agent_id_of
from console.cli.cloud_format import clip, pct
from console.cli.output import json_option, print_fields, print_result, print_table, when
from console.cli.session import open_client, reports_errors
from console.formatting import byte_size, spark
from shared.api.metrics import (
    FleetSummary,
    HostFigure,
    HostMetric,
    LatestMetrics,
    MetricRange,
    MetricSeries,
    Series,
)

RANGES = click.Choice(get_args(MetricRange))
SPARK_WIDTH = 30
range_option = click.option(
    "--range", "range_", type=RANGES, default="1h", show_default=True, help="How far back."
)


def figure(metric: str, value: float | None) -> str | None:
    """A value as its metric reads: percentages, bytes per second, plain numbers."""
    if value is None:
        return None
    if metric.endswith("_pct"):
        return f"{value:.1f}%"
    if metric.endswith("_bps"):
        return f"{byte_size(round(value))}/s"
    if metric.endswith("_bytes"):
        return byte_size(round(value))
    return f"{value:.2f}"


def trend(series: Series, width: int = SPARK_WIDTH) -> str | None:
    """The whole range in at most `width` blocks, each the highest of its points: a spike
    stays visible however many points a block stands for."""
    values = [point.max for point in series.points]
    if not values:
        return None
    size = -(-len(values) // width)  # ceiling: blocks of `size` points, at most `width`
    return spark([max(values[i : i + size]) for i in range(0, len(values), size)], width=width)


def _series_rows(result: MetricSeries, container: str | None = None) -> None:
    """One line per series: its last, min, average and max over the range, and its trend."""

    def last(series: Series) -> float | None:
        return series.points[-1].avg if series.points else None

    def over(series: Series, pick: Any) -> float | None:
        return pick(series.points) if series.points else None

    def mean(series: Series) -> float | None:
        points = series.points
        return sum(p.avg for p in points) / len(points) if points else None

    resolution = result.resolution_seconds
    step = "raw samples" if resolution == 0 else f"one point per {resolution}s"
    click.echo(f"Agent {result.agent_id}, last {result.range} ({step}):")
    print_table(
        result.series,
        [
            # A container's series are labelled with its name, said once above them.
            (
                "metric",
                lambda s: s.metric + (f" {s.label}" if s.label not in (None, container) else ""),
            ),
            ("last", lambda s: figure(s.metric, last(s))),
            ("min", lambda s: figure(s.metric, over(s, lambda ps: min(p.min for p in ps)))),
            ("avg", lambda s: figure(s.metric, mean(s))),
            ("max", lambda s: figure(s.metric, over(s, lambda ps: max(p.max for p in ps)))),
            ("points", lambda s: len(s.points)),
            ("trend", trend),
        ],
    )


def _top(label: str, hosts: Sequence[HostFigure]) -> tuple[str, str | None]:
    shown = ", ".join(f"{host.name} {host.value:.1f}%" for host in hosts)
    return label, shown or None


def _summary(fleet: FleetSummary) -> None:
    print_fields(
        [
            ("hosts", fleet.total),
            ("online", fleet.online),
            ("offline", fleet.offline),
            ("pending", fleet.pending),
            ("avg cpu", pct(fleet.avg_cpu_pct)),
            ("avg memory", pct(fleet.avg_mem_pct)),
            ("avg disk", pct(fleet.avg_disk_pct)),
            _top("top cpu", fleet.top_cpu),
            _top("top memory", fleet.top_mem),
            _top("top disk", fleet.top_disk),
        ]
    )


def _latest(latest: LatestMetrics) -> None:
    sample = latest.sample
    if sample is None:
        click.echo(f"Agent {latest.agent_id} ({latest.status.value}) has not reported yet.")
        return
    pairs: list[tuple[str, Any]] = [
        ("agent", latest.agent_id),
        ("status", latest.status.value),
        ("at", when(sample.ts)),
        ("cpu", pct(sample.cpu_pct)),
        ("memory", f"{pct(sample.mem_pct)} ({byte_size(sample.mem_used)} used)"),
        ("load", " ".join(f"{value:.2f}" for value in sample.load) or None),
        ("net in", f"{byte_size(round(sample.net.rx_bps))}/s"),
        ("net out", f"{byte_size(round(sample.net.tx_bps))}/s"),
        ("net errors", f"{sample.net.errors_per_min:.0f}/min"),
    ]
    for disk in sample.disk:
        pairs.append((f"disk {disk.mount}", f"{pct(disk.pct)} of {byte_size(disk.total_bytes)}"))
    print_fields(pairs)


@click.group()
def metrics() -> None:
    """Host metrics reported by agents."""


@metrics.command("summary")
@json_option
@reports_errors
def metrics_summary(as_json: bool) -> None:
    """The fleet: hosts online and offline, averages, the busiest hosts."""
    with open_client() as api:
        fleet = api.metrics.summary()
    print_result(fleet, as_json, lambda: _summary(fleet))


@metrics.command("show")
@click.argument("agent", type=AGENT)
@range_option
@click.option(
    "--metrics",
    "names",
    help="Comma-separated: " + ",".join(m.value for m in HostMetric)
    + " (default cpu_pct,mem_pct,disk_pct,load1).",
)  # fmt: skip
@json_option
@reports_errors
def metrics_show(agent: int | str, range_: MetricRange, names: str | None, as_json: bool) -> None:
    """A host's series over a range: last, min, avg and max of each, and its trend."""
    wanted = None
    if names:
        wanted = [name.strip() for name in names.split(",") if name.strip()]
        known = {m.value for m in HostMetric}
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise click.BadParameter(f"unknown metric {unknown[0]!r}", param_hint="--metrics")
    with open_client() as api:
        result = api.metrics.series(agent_id_of(api, agent), range=range_, metrics=wanted)
    print_result(result, as_json, lambda: _series_rows(result))


@metrics.command("latest")
@click.argument("agent", type=AGENT)
@json_option
@reports_errors
def metrics_latest(agent: int | str, as_json: bool) -> None:
    """A host's newest sample."""
    with open_client() as api:
        latest = api.metrics.latest(agent_id_of(api, agent))
    print_result(latest, as_json, lambda: _latest(latest))


@metrics.command("containers")
@click.argument("agent", type=AGENT)
@json_option
@reports_errors
def metrics_containers(agent: int | str, as_json: bool) -> None:
    """A host's containers with their latest stats."""
    with open_client() as api:
        found = api.metrics.containers(agent_id_of(api, agent))
    print_result(
        found,
        as_json,
        lambda: print_table(
            found,
            [
                ("name", lambda c: clip(c.name, 30)),
                ("state", lambda c: c.state),
                ("cpu", lambda c: pct(c.cpu_pct)),
                ("memory", lambda c: byte_size(c.mem_bytes)),
                ("mem %", lambda c: pct(c.mem_pct)),
                ("limit", lambda c: byte_size(c.mem_limit)),
                ("image", lambda c: clip(c.image, 40)),
                ("updated", lambda c: c.updated_at),
            ],
        ),
    )


@metrics.command("container")
@click.argument("agent", type=AGENT)
@click.argument("name")
@range_option
@json_option
@reports_errors
def metrics_container(agent: int | str, name: str, range_: MetricRange, as_json: bool) -> None:
    """One container's series over a range."""
    with open_client() as api:
        result = api.metrics.container_series(agent_id_of(api, agent), name, range=range_)

    def human() -> None:
        click.echo(f"Container {result.name}:")
        _series_rows(result, container=result.name)

    print_result(result, as_json, human)
