"""One host: its facts and newest sample, charts of cpu, memory and disks, load and network
over a range (keys h 1h, d 24h, w 7d, m 30d), and its containers' latest stats.

Read when shown (`/agents/{id}`, its latest sample, its series, its containers); a range
key reads the series alone. Live: the host's `agent.metrics` move the newest figures and,
over the last hour, extend the charts; `agent.status` changes its state. Containers are
read again only with the view (ctrl+r), as no event carries them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from console.formatting import KIB, ago, byte_size
from console.screens.hosts import state_text
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.metric_chart import Line, MetricChart
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.agents import AgentRead, AgentStatus, Sample
from shared.api.events import AgentMetricsReported, AgentStatusChanged, Event
from shared.api.metrics import ContainerRead, MetricRange, MetricSeries

SERIES = ("cpu_pct", "mem_pct", "disk_pct", "load1", "net_rx_bps", "net_tx_bps")
CONTAINER_COLUMNS = (
    Col("NAME", 100, min_width=12),
    Col("STATE", 95),
    Col("CPU", 90, width=7),
    Col("MEM", 85, width=9),
    Col("MEM %", 60, width=6),
    Col("IMAGE", 50, min_width=16),
)
# Chart lines by the series they draw; a disk's line is named by its mount.
LABELS = {"cpu_pct": "cpu", "mem_pct": "mem", "load1": "load1", "net_rx_bps": "in",
          "net_tx_bps": "out"}  # fmt: skip


def summary_text(
    agent: AgentRead, sample: Sample | None, live: AgentMetricsReported | None, now: datetime,
    colors: dict[str, str],
) -> Text:  # fmt: skip
    """The host in a few lines: who it is, what it runs on, its newest figures and disks."""
    text = Text.assemble(
        (f"#{agent.id} {agent.name}  ", "bold"), state_text(agent.status.value, colors)
    )
    where = [agent.hostname or "never reported", agent.os or ""]
    text.append("  " + " · ".join(part for part in where if part))

    def line(name: str, value: str) -> None:
        text.append(f"\n{name:<10}", style="dim")
        text.append(value)

    facts = agent.facts
    if facts is not None:
        machine = [part for part in (facts.kernel, facts.arch) if part]
        if facts.cpu_count:
            model = f" {facts.cpu_model}" if facts.cpu_model else ""
            machine.append(f"{facts.cpu_count} cpu{model}")
        if facts.mem_total:
            machine.append(f"{byte_size(facts.mem_total)} memory")
        if facts.boot_time:
            machine.append(f"up {ago(facts.boot_time, now)}")
        line("host", " · ".join(machine) or "-")
    if sample is not None:
        cpu, mem, load = sample.cpu_pct, sample.mem_pct, sample.load[:1]
        if live is not None and live.ts > sample.ts:
            cpu, mem = live.cpu_pct, live.mem_pct
            load = [live.load1] if live.load1 is not None else load
        total = byte_size(facts.mem_total if facts else None)
        figures = [f"cpu {cpu:.0f}%", f"mem {mem:.0f}% of {total}"]
        if load:
            figures.append("load " + " ".join(f"{value:.2f}" for value in load))
        net = sample.net
        figures.append(f"net ↓{byte_size(net.rx_bps)}/s ↑{byte_size(net.tx_bps)}/s")
        line("now", " · ".join(figures))
        disks = [
            f"{disk.mount} {disk.pct:.0f}% of {byte_size(disk.total_bytes)}" for disk in sample.disk
        ]
        line("disks", " · ".join(disks) or "-")
    seen = ["never" if agent.last_seen_at is None else f"{ago(agent.last_seen_at, now)} ago"]
    if agent.interval_seconds:
        seen[0] += f" (every {agent.interval_seconds}s)"
    if agent.agent_version:
        seen.append(f"agent {agent.agent_version}")
    seen.append(f"tags {', '.join(agent.tags) or '-'}")
    line("seen", " · ".join(seen))
    return text


def chart_lines(series: MetricSeries) -> dict[str, list[Line]]:
    """The series split into the three charts: percentages, load, network (in KiB/s)."""
    charts: dict[str, list[Line]] = {"pct": [], "load": [], "net": []}
    for each in series.series:
        scale = 1 / KIB if each.metric.startswith("net_") else 1.0
        points = [(point.ts, point.avg * scale) for point in each.points]
        if each.metric == "disk_pct":
            charts["pct"].append(Line(each.label or "disk", points))
        elif each.metric in ("cpu_pct", "mem_pct"):
            charts["pct"].append(Line(LABELS[each.metric], points))
        elif each.metric == "load1":
            charts["load"].append(Line(LABELS[each.metric], points))
        elif each.metric in LABELS:
            charts["net"].append(Line(LABELS[each.metric], points))
    return charts


def container_cells(container: ContainerRead, colors: dict[str, str]) -> list[Cell]:
    running = container.state == "running"
    return [
        container.name,
        Text(container.state, style=colors.get("success" if running else "warning", "")),
        f"{container.cpu_pct:.1f}%",
        byte_size(container.mem_bytes),
        "-" if container.mem_pct is None else f"{container.mem_pct:.0f}%",
        container.image,
    ]


class HostDetailScreen(ViewScreen):
    VIEW = "host"
    CSS_PATH = "../styles/hosts.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("h", "span('1h')", "1h", id="host.1h"),
        Binding("d", "span('24h')", "24h", id="host.24h"),
        Binding("w", "span('7d')", "7d", id="host.7d"),
        Binding("m", "span('30d')", "30d", id="host.30d"),
        Binding("escape", "back", "Back", id="host.back"),
    ]

    def __init__(self, agent_id: int) -> None:
        super().__init__()
        self.agent_id = agent_id
        self.agent: AgentRead | None = None
        self.sample: Sample | None = None
        self.live_sample: AgentMetricsReported | None = None
        self.span: MetricRange = "1h"
        self._summary_shown = ""

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="host-body"):
            yield Static(f"host {self.agent_id}", id="host-summary")
            with Vertical(id="host-charts"):
                yield MetricChart("cpu, memory, disks", unit="%", top=100, id="chart-pct")
                yield MetricChart("load", id="chart-load")
                yield MetricChart("network", unit="KiB/s", id="chart-net")
            yield ResourceTable(CONTAINER_COLUMNS, id="containers")

    def _chart(self, name: str) -> MetricChart:
        return self.query_one(f"#chart-{name}", MetricChart)

    async def load(self) -> None:
        api = self.upmetr.api
        agent = await self.attempt(api.agents.get(self.agent_id))
        if agent is None:  # gone or unreachable: one complaint, not four
            return
        latest, series, containers = await asyncio.gather(
            self.attempt(api.metrics.latest(self.agent_id)),
            self.attempt(api.metrics.series(self.agent_id, range=self.span, metrics=SERIES)),
            self.attempt(api.metrics.containers(self.agent_id)),
        )
        self.agent = agent
        self.query_one("#host-body").border_title = f"host {agent.name}"
        if latest is not None:
            self.sample = latest.sample
        self._summarize()
        if series is not None:
            self._draw(series)
        if containers is not None:
            table = self.query_one(ResourceTable)
            colors = self.app.theme_variables
            table.set_rows(
                [(index, container_cells(c, colors)) for index, c in enumerate(containers)]
            )
            table.set_title("containers", str(len(containers)))

    def _draw(self, series: MetricSeries) -> None:
        for name, lines in chart_lines(series).items():
            self._chart(name).show(lines, series.range)

    def action_span(self, span: MetricRange) -> None:
        if span != self.span:
            self.span = span
            self._read_series(span)

    @work(exclusive=True, group="series")
    async def _read_series(self, span: MetricRange) -> None:
        api = self.upmetr.api.metrics
        series = await self.attempt(api.series(self.agent_id, range=span, metrics=SERIES))
        if series is not None and series.range == self.span:
            self._draw(series)

    def tick(self) -> None:
        self._summarize()  # `seen 4s ago`

    def _summarize(self) -> None:
        if self.agent is None:
            return
        now, colors = self.upmetr.now(), self.app.theme_variables
        summary = summary_text(self.agent, self.sample, self.live_sample, now, colors)
        if summary.plain != self._summary_shown:
            self._summary_shown = summary.plain
            self.query_one("#host-summary", Static).update(summary)

    def live(self, event: Event) -> None:
        data = event.data
        if getattr(data, "agent_id", None) != self.agent_id or self.agent is None:
            return
        if isinstance(data, AgentStatusChanged):
            self.agent = self.agent.model_copy(update={"status": AgentStatus(data.status)})
        elif isinstance(data, AgentMetricsReported):
            self.live_sample = data
            self.agent = self.agent.model_copy(update={"last_seen_at": data.ts})
            if self.span == "1h":  # raw samples: the newest extends the lines
                self._chart("pct").add("cpu", data.ts, data.cpu_pct)
                self._chart("pct").add("mem", data.ts, data.mem_pct)
                if data.load1 is not None:
                    self._chart("load").add("load1", data.ts, data.load1)
        self._summarize()
