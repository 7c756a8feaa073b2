"""Hosts (`:hosts`, 0): every infra agent with its state, cpu, memory and fullest disk as
bars, and a cpu sparkline, live. Enter opens the host's detail.

One line per host, as widgets (a bar per figure, Textual's Sparkline for the trend), in a
ListView. The list is read once (`/agents`, whose items carry each host's newest figures);
from then on `agent.metrics` (one per post, every interval) fills the bars and the
sparkline and `agent.status` the state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ListItem, ListView, Sparkline, Static

from console.commands import RowFilter
from console.formatting import ago
from console.screens.view import ViewScreen
from console.widgets.usage_bar import UsageBar
from shared.api.agents import AgentRead, AgentStatus
from shared.api.events import AgentMetricsReported, AgentStatusChanged, Event

PAGE = 200
TREND_POINTS = 30
# Glyph and theme variable of each state; the word is the state itself.
HOST_STATES: dict[str, tuple[str, str]] = {
    "online": ("●", "success"),
    "offline": ("▼", "error"),
    "pending": ("○", "secondary"),
}
HEADINGS = (
    ("STATUS", "status"),
    ("NAME", "name"),
    ("CPU", "cpu"),
    ("MEM", "mem"),
    ("DISK", "disk"),
    ("CPU TREND", "trend"),
    ("SEEN", "seen"),
)


def state_text(status: str, colors: dict[str, str]) -> Text:
    glyph, variable = HOST_STATES.get(status, ("·", "foreground"))
    return Text(f"{glyph} {status}", style=colors.get(variable, ""))


@dataclass(frozen=True)
class Figures:
    """A host's newest figures as the list shows them (None: not known yet)."""

    cpu_pct: float | None = None
    mem_pct: float | None = None
    disk_pct: float | None = None


def figures_of(agent: AgentRead) -> Figures:
    """The newest figures the agents list gives of a host."""
    return Figures(agent.cpu_pct, agent.mem_pct, agent.disk_pct)


def fleet_line(agents: list[AgentRead], total: int, figures: dict[int, Figures]) -> str:
    """`4 hosts: 3 online, 1 offline · avg cpu 34% · mem 51% · disk 62%` of the hosts shown."""
    counts = {state.value: 0 for state in AgentStatus}
    for agent in agents:
        counts[agent.status.value] += 1
    parts = [f"{counts[state]} {state}" for state in HOST_STATES if counts[state]]
    line = f"{total} host{'' if total == 1 else 's'}" + (f": {', '.join(parts)}" if parts else "")
    online = [figures[a.id] for a in agents if a.status is AgentStatus.online and a.id in figures]
    for name, pick in (
        ("avg cpu", lambda f: f.cpu_pct),
        ("mem", lambda f: f.mem_pct),
        ("disk", lambda f: f.disk_pct),
    ):
        values = [value for value in map(pick, online) if value is not None]
        if values:
            line += f" · {name} {sum(values) / len(values):.0f}%"
    return line


class HostRow(ListItem):
    """One host's line: state, name, three bars, the cpu sparkline, when it last reported.

    Its parts are made with the row, so that it can be drawn before it is mounted (a live
    event or the clock may come while the list is being filled)."""

    def __init__(self, agent: AgentRead) -> None:
        super().__init__(classes="host-row")
        self.agent = agent
        self.figures = Figures()
        self.state = Label(classes="status")
        self.name_label = Label(classes="name")
        self.bars = (UsageBar(classes="cpu"), UsageBar(classes="mem"), UsageBar(classes="disk"))
        self.trend = Sparkline([], summary_function=max, classes="trend")
        self.seen = Label(classes="seen")

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield self.state
            yield self.name_label
            yield from self.bars
            yield self.trend
            yield self.seen

    @property
    def text(self) -> str:
        """What `/` matches: name, hostname, state and tags."""
        agent = self.agent
        return " ".join([agent.name, agent.hostname or "", agent.status.value, *agent.tags])

    def show(
        self,
        agent: AgentRead,
        figures: Figures,
        trend: list[float],
        now: datetime,
        colors: dict[str, str],
    ) -> None:
        self.agent, self.figures = agent, figures
        self.state.update(state_text(agent.status.value, colors))
        self.name_label.update(Text(agent.name))
        values = (figures.cpu_pct, figures.mem_pct, figures.disk_pct)
        for bar, value in zip(self.bars, values, strict=True):
            bar.value = value
        self.trend.data = trend
        self.show_seen(now)

    def show_seen(self, now: datetime) -> None:
        self.seen.update(ago(self.agent.last_seen_at, now))


class HostsScreen(ViewScreen):
    VIEW = "hosts"
    CSS_PATH = "../styles/hosts.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    MAX_ROWS: ClassVar[int] = 200
    BINDINGS = [
        Binding("enter", "open", "Detail", id="hosts.open"),
        Binding("j", "down", "Down", show=False, id="hosts.down"),
        Binding("k", "up", "Up", show=False, id="hosts.up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.agents: dict[int, AgentRead] = {}
        self.figures: dict[int, Figures] = {}
        self.trends: dict[int, deque[float]] = {}
        self.rows: dict[int, HostRow] = {}
        self.fetching: set[int] = set()  # hosts new to the list, being read once each
        self.total = 0

    def compose_body(self) -> ComposeResult:
        with Vertical(id="hosts-frame"):
            yield Static("", id="fleet")
            with Horizontal(id="hosts-header"):
                for heading, column in HEADINGS:
                    yield Label(heading, classes=column)
            yield ListView(id="hosts")

    @property
    def list_view(self) -> ListView:
        return self.query_one("#hosts", ListView)

    async def load(self) -> None:
        api = self.upmetr.api
        page = await self.attempt(api.agents.list(per_page=PAGE))
        if page is None:
            return
        loaded = list(page.items)
        while len(loaded) < min(page.total, self.MAX_ROWS) and page.items:
            page = await self.attempt(api.agents.list(per_page=PAGE, page=page.page + 1))
            if page is None:
                return
            loaded.extend(page.items)
        self.total = page.total
        for agent in loaded:
            if agent.id not in self.figures:  # a live report is newer than the list
                self.figures[agent.id] = figures_of(agent)
        await self._show_all(loaded[: self.MAX_ROWS])

    async def _show_all(self, agents: list[AgentRead]) -> None:
        self.agents = {agent.id: agent for agent in agents}
        cursor = self.list_view.index
        rows = [HostRow(agent) for agent in agents]
        self.rows = {row.agent.id: row for row in rows}
        await self.list_view.clear()
        await self.list_view.extend(rows)
        for row in rows:
            self._draw(row)
        if rows:
            self.list_view.index = min(cursor or 0, len(rows) - 1)
        self.apply_filter(self.filter_text)
        self._fleet()

    def _draw(self, row: HostRow) -> None:
        agent_id = row.agent.id
        row.show(
            self.agents[agent_id],
            self.figures.get(agent_id, Figures()),
            list(self.trends.get(agent_id, ())),
            self.upmetr.now(),
            self.app.theme_variables,
        )

    def _fleet(self) -> None:
        line = fleet_line(list(self.agents.values()), self.total, self.figures)
        if self.filter_text:
            shown = sum(1 for row in self.rows.values() if row.display)
            line = f"{shown} shown /{self.filter_text} · {line}"
        self.query_one("#fleet", Static).update(line)
        self.query_one("#hosts-frame").border_title = f"hosts ({self.total})"

    def tick(self) -> None:
        now = self.upmetr.now()
        for row in self.rows.values():
            row.show_seen(now)

    def apply_filter(self, text: str) -> None:
        keep = RowFilter.parse(text)
        for row in self.rows.values():
            row.display = keep.keeps(row.text)
        if self.rows:
            self._fleet()
        # The cursor leaves a row the filter hid: enter must open a host that is shown.
        view = self.list_view
        current = view.highlighted_child
        if current is not None and not current.display:
            shown = [index for index, row in enumerate(view.children) if row.display]
            view.index = shown[0] if shown else None

    def live_many(self, events: list[Event]) -> None:
        """Apply a burst, then draw each host it touched once."""
        touched: set[int] = set()
        for event in events:
            data = event.data
            if isinstance(data, AgentMetricsReported):
                self.figures[data.agent_id] = Figures(data.cpu_pct, data.mem_pct, data.disk_pct)
                trend = self.trends.setdefault(data.agent_id, deque(maxlen=TREND_POINTS))
                trend.append(data.cpu_pct)
                agent = self.agents.get(data.agent_id)
                if agent is not None:
                    seen = agent.last_seen_at
                    if seen is None or seen < data.ts:
                        self.agents[agent.id] = agent.model_copy(update={"last_seen_at": data.ts})
            elif isinstance(data, AgentStatusChanged):
                agent = self.agents.get(data.agent_id)
                if agent is not None:
                    status = AgentStatus(data.status)
                    self.agents[agent.id] = agent.model_copy(update={"status": status})
            else:
                continue
            if data.agent_id in self.rows:
                touched.add(data.agent_id)
            elif self.total < self.MAX_ROWS and data.agent_id not in self.fetching:
                self.fetching.add(data.agent_id)  # a host added since the list was read
                self._fetch(data.agent_id)
        for agent_id in touched:
            self._draw(self.rows[agent_id])
        if touched:
            self._fleet()

    @work(group="fetch")
    async def _fetch(self, agent_id: int) -> None:
        agent = await self.attempt(self.upmetr.api.agents.get(agent_id))
        self.fetching.discard(agent_id)
        if agent is None or agent.id in self.rows:
            return
        self.agents[agent.id] = agent
        self.total += 1
        row = HostRow(agent)
        self.rows[agent.id] = row
        await self.list_view.append(row)
        self._draw(row)
        self.apply_filter(self.filter_text)

    # -- actions -------------------------------------------------------------------------

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        from console.screens.host_detail import HostDetailScreen

        row = self.list_view.highlighted_child
        if isinstance(row, HostRow):
            self.app.push_screen(HostDetailScreen(row.agent.id))

    def action_down(self) -> None:
        self.list_view.action_cursor_down()

    def action_up(self) -> None:
        self.list_view.action_cursor_up()
