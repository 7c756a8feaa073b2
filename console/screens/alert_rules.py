"""Alert rules (`:alerts`): which incidents open with which severity and go to which
channels, and the metric rules (`infra_metric`) that open incidents for agents themselves.
(`:rules` is the notification routing, in the channels view.)

Keys: t switches the rule under the cursor on or off (admins); b backtests a metric rule
over the last 24 hours: what it would have opened over stored metrics, nothing sent, shown
in a dialog whose keys h, d, w and m run it again over 1 h, 24 h, 7 or 30 days. No event
tells of a rule's change: the view reads again when shown, or with ctrl+r.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.formatting import ago, status_text
from console.screens.channels import state_text
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.alert_rules import AlertRuleRead, BacktestResult
from shared.api.incidents import TriggerType
from shared.client import AsyncClient, ClientError

PAGE = 200
COLUMNS = (
    Col("NAME", 100, min_width=12),
    Col("STATE", 98, width=5),
    Col("TRIGGER", 90),
    Col("CONDITION", 85, min_width=12),
    Col("SEVERITY", 80, width=10),
    Col("SCOPE", 60, min_width=8),
    Col("CHANNELS", 40),
    Col("COOLDOWN", 30),
)
# A narrow dialog keeps when and how bad before what: the target is the host itself
# unless the rule watches disks or containers.
INCIDENT_COLUMNS = (
    Col("HOST", 100, min_width=10),
    Col("TARGET", 70, min_width=8),
    Col("OPENED", 95, width=9),
    Col("RESOLVED", 80, width=10),
    Col("LASTED", 85, width=7),
    Col("PEAK", 90, width=8),
)
SPANS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7),
         "30d": timedelta(days=30)}  # fmt: skip
SYMBOLS = {"above": ">", "below": "<", "equals": "="}


def condition_text(rule: AlertRuleRead) -> str:
    """`cpu_pct > 90 x3` (x: samples in a row that open); `-` for rules of other kinds."""
    if rule.metric is None or rule.condition is None or rule.threshold is None:
        return "-"
    symbol = SYMBOLS.get(rule.condition.value, rule.condition.value)
    return f"{rule.metric.value} {symbol} {rule.threshold:g} x{rule.breach_count}"


def scope_text(rule: AlertRuleRead) -> str:
    scope = rule.scope
    parts = [f"mon #{each}" for each in scope.monitor_ids]
    parts += [f"agent #{each}" for each in scope.agent_ids]
    parts += [f"tag:{tag}" for tag in scope.tags]
    return ", ".join(parts) or "all"


def rule_cells(rule: AlertRuleRead, colors: dict[str, str]) -> list[Cell]:
    return [
        rule.name,
        state_text(rule.enabled, colors),
        rule.trigger_type.value,
        condition_text(rule),
        status_text(rule.severity.value, colors),
        scope_text(rule),
        ", ".join(f"#{each}" for each in rule.channel_ids) or "-",
        f"{rule.cooldown_minutes}m" if rule.cooldown_minutes else "-",
    ]


def lasted(start: datetime, end: datetime) -> str:
    minutes = max(0, int((end - start).total_seconds() // 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def backtest_line(rule: AlertRuleRead, span: str, result: BacktestResult) -> str:
    count = len(result.incidents)
    return (
        f"{rule.name}: {condition_text(rule)}, last {span}: {result.samples} samples judged, "
        f"{count} incident{'' if count == 1 else 's'} would have opened (nothing is sent)"
    )


class BacktestScreen(ModalScreen[None]):
    """What a metric rule would have opened over a span, read when shown and on each span
    key. Its own worker asks the server: the dialog is over the view that opened it."""

    CSS_PATH = "../styles/alerts.tcss"

    BINDINGS = [
        Binding("h", "span('1h')", "1h", id="backtest.1h"),
        Binding("d", "span('24h')", "24h", id="backtest.24h"),
        Binding("w", "span('7d')", "7d", id="backtest.7d"),
        Binding("m", "span('30d')", "30d", id="backtest.30d"),
        Binding("escape,q", "close", "Close", id="backtest.close"),
    ]

    def __init__(self, api: AsyncClient, rule: AlertRuleRead, end: datetime) -> None:
        super().__init__(classes="dialog-screen")
        self.api = api
        self.rule = rule
        self.end = end
        self.span = "24h"
        self.names: dict[int, str] | None = None
        self.result: BacktestResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog backtest"):
            yield Static(f"Backtesting {self.rule.name} over the last {self.span}...", id="verdict")
            yield ResourceTable(INCIDENT_COLUMNS, id="would-be")
            yield Static("h 1h · d 24h · w 7d · m 30d · esc close", classes="keys")

    def on_mount(self) -> None:
        self.query_one(ResourceTable).set_title("would-be incidents", "0")
        self._run(self.span)

    def action_span(self, span: str) -> None:
        self.span = span
        self.query_one("#verdict", Static).update(
            f"Backtesting {self.rule.name} over the last {span}..."
        )
        self._run(span)

    def action_close(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="backtest")
    async def _run(self, span: str) -> None:
        verdict = self.query_one("#verdict", Static)
        start = self.end - SPANS[span]
        try:
            result = await self.api.alert_rules.backtest(self.rule.id, from_=start, to=self.end)
            if self.names is None and result.incidents:
                agents = await self.api.agents.list(per_page=PAGE)
                self.names = {agent.id: agent.name for agent in agents.items}
        except ClientError as exc:
            verdict.update(Text(f"The server said no: {exc}", style="bold"))
            return
        if span != self.span:  # another key was pressed meanwhile
            return
        self.result = result
        verdict.update(backtest_line(self.rule, span, result))
        names = self.names or {}
        table = self.query_one(ResourceTable)
        table.set_rows(
            [
                (
                    index,
                    [
                        names.get(found.agent_id, f"#{found.agent_id}"),
                        found.target,
                        f"{ago(found.opened_at, self.end)} ago",
                        f"{ago(found.resolved_at, self.end)} ago"
                        if found.resolved_at
                        else "still open",
                        lasted(found.opened_at, found.resolved_at or result.to),
                        f"{found.peak_value:g}",
                    ],
                )
                for index, found in enumerate(result.incidents)
            ]
        )
        table.set_title("would-be incidents", str(len(result.incidents)))


class AlertRulesScreen(ViewScreen):
    VIEW = "alerts"
    CSS_PATH = "../styles/alerts.tcss"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"switch"})
    BINDINGS = [
        Binding("t", "switch", "On/off", id="alerts.switch"),
        Binding("b", "backtest", "Backtest", id="alerts.backtest"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rules: dict[int, AlertRuleRead] = {}
        self.total = 0

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="alert-rules")

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    async def load(self) -> None:
        page = await self.attempt(self.upmetr.api.alert_rules.list(per_page=PAGE))
        if page is None:
            return
        self.rules = {rule.id: rule for rule in page.items}
        self.total = page.total
        colors = self.app.theme_variables
        self.table.set_rows([(rule.id, rule_cells(rule, colors)) for rule in page.items])
        self._title()

    def _title(self) -> None:
        off = sum(not rule.enabled for rule in self.rules.values())
        self.table.set_title("alert rules", str(self.total), f": {off} off" if off else "")

    def _current(self) -> AlertRuleRead | None:
        return self.rules.get(self.table.current_id or 0)

    def action_switch(self) -> None:
        rule = self._current()
        if rule is not None:
            self._toggle(rule)

    @work(group="act")
    async def _toggle(self, rule: AlertRuleRead) -> None:
        done = f"{rule.name} {'off' if rule.enabled else 'on'}"
        changed = await self.attempt(self.upmetr.api.alert_rules.toggle(rule.id), done)
        if changed is not None:
            self.rules[changed.id] = changed
            self.table.upsert_row(changed.id, rule_cells(changed, self.app.theme_variables))
            self._title()

    def action_backtest(self) -> None:
        rule = self._current()
        if rule is None:
            return
        if rule.trigger_type is not TriggerType.infra_metric:
            self.notify("Only metric rules (infra_metric) can be backtested", severity="warning")
            return
        self.app.push_screen(BacktestScreen(self.upmetr.api, rule, self.upmetr.now()))
