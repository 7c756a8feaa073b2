"""Channels and routing rules (`:channels`, `:rules`): where the organization's
notifications go, whether each channel is on, when it last delivered and the error that last
stopped it; below, the rules that pick which events go to which channels.

Keys: t sends a test message to the channel under the cursor and says what the vendor
answered; e switches the channel (or, in the rules table, the rule) on or off; a channel
switched on again loses the error that disabled it. tab moves between the tables. The state
reads without colour (`● on`, `○ off`). No event tells of a channel's change, but
a channel a permanent error disabled tells the admins through the inbox: that event
(`notification.created` of `channel.disabled`) reads the view again.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from console.formatting import ago, status_text
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.events import Event, NotificationCreated
from shared.api.notifications import ChannelRead, ChannelTestResult, RuleRead

COLUMNS = (
    Col("ID", 60),
    Col("NAME", 100, min_width=12),
    Col("TYPE", 95),
    Col("STATE", 98, width=5),
    Col("DELIVERED", 80, width=9),
    Col("LAST ERROR", 70, min_width=16),
)
RULE_COLUMNS = (
    Col("NAME", 100, min_width=12),
    Col("STATE", 98, width=5),
    Col("EVENTS", 90, min_width=16),
    Col("SEVERITY", 60, width=10),
    Col("CHANNELS", 80, min_width=12),
    Col("ESCALATION", 50),
)
PAGE = 200


def state_text(enabled: bool, colors: dict[str, str]) -> Text:
    if enabled:
        return Text("● on", style=colors.get("success", ""))
    return Text("○ off", style=colors.get("warning", ""))


def channel_cells(channel: ChannelRead, now: datetime, colors: dict[str, str]) -> list[Cell]:
    state = state_text(channel.enabled, colors)
    error = channel.last_error or "-"
    if channel.last_error_at is not None:
        error = f"{ago(channel.last_error_at, now)} ago: {error}"
    return [
        str(channel.id),
        channel.name,
        channel.type.value,
        state,
        ago(channel.last_delivered_at, now) if channel.last_delivered_at else "never",
        Text(error, style=colors.get("error", "") if channel.last_error else ""),
    ]


def rule_cells(rule: RuleRead, names: dict[int, str], colors: dict[str, str]) -> list[Cell]:
    def channels(ids: list[int]) -> str:
        return ", ".join(names.get(channel_id, f"#{channel_id}") for channel_id in ids) or "-"

    escalation = "-"
    if rule.escalate_after_minutes is not None:
        escalation = (
            f"after {rule.escalate_after_minutes}m: {channels(rule.escalation_channel_ids)}"
        )
    return [
        rule.name,
        state_text(rule.enabled, colors),
        ", ".join(rule.events),
        status_text(rule.min_severity.value, colors)
        if rule.min_severity.value != "info"
        else "all",
        channels(rule.channel_ids),
        escalation,
    ]


def test_outcome(channel: ChannelRead, result: ChannelTestResult) -> str:
    """`ops (slack): delivered, 200 ok`; `ops (slack): failed, 404 no_service (permanent)`."""
    answer = " ".join(part for part in (str(result.status_code or ""), result.detail or "") if part)
    verdict = "delivered" if result.ok else "failed"
    permanent = " (permanent: fix the channel)" if not result.ok and result.permanent else ""
    return f"{channel.name} ({channel.type.value}): {verdict}, {answer or 'no answer'}{permanent}"


class ChannelsScreen(ViewScreen):
    VIEW = "channels"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"test", "switch"})
    BINDINGS = [
        Binding("t", "test", "Test", id="channels.test"),
        Binding("e", "switch", "On/off", id="channels.switch"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.channels: dict[int, ChannelRead] = {}
        self.rules: dict[int, RuleRead] = {}
        self.total = 0

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="channels")
        yield ResourceTable(RULE_COLUMNS, id="rules")

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#channels", ResourceTable)

    @property
    def rules_table(self) -> ResourceTable:
        return self.query_one("#rules", ResourceTable)

    async def load(self) -> None:
        page = await self.attempt(self.upmetr.api.channels.list(per_page=PAGE))
        if page is None:
            return
        self.channels = {channel.id: channel for channel in page.items}
        now, colors = self.upmetr.now(), self.app.theme_variables
        self.table.set_rows([(c.id, channel_cells(c, now, colors)) for c in page.items])
        self.total = page.total
        self._title()
        rules = await self.attempt(self.upmetr.api.notification_rules.list(per_page=PAGE))
        if rules is not None:
            self.rules = {rule.id: rule for rule in rules.items}
            self._show_rules()
            self.rules_table.set_title("rules", str(rules.total))

    def _show_rules(self) -> None:
        names = {channel.id: channel.name for channel in self.channels.values()}
        colors = self.app.theme_variables
        self.rules_table.set_rows(
            [(rule.id, rule_cells(rule, names, colors)) for rule in self.rules.values()]
        )

    def _title(self) -> None:
        off = sum(not channel.enabled for channel in self.channels.values())
        self.table.set_title("channels", str(self.total), f": {off} off" if off else "")

    def live_many(self, events: list[Event]) -> None:
        if any(
            isinstance(event.data, NotificationCreated)
            and event.data.notification_type == "channel.disabled"
            for event in events
        ):
            self.reload()

    def _current(self) -> ChannelRead | None:
        return self.channels.get(self.table.current_id or 0)

    def action_test(self) -> None:
        channel = self._current()
        if channel is not None:
            self.notify(f"Sending a test message to {channel.name}...")
            self._test(channel)

    @work(group="act")
    async def _test(self, channel: ChannelRead) -> None:
        result = await self.attempt(self.upmetr.api.channels.test(channel.id))
        if result is not None:
            self.notify(
                test_outcome(channel, result),
                title="Test message",
                severity="information" if result.ok else "error",
                timeout=10,
            )

    def action_switch(self) -> None:
        if self.focused is self.rules_table:
            rule = self.rules.get(self.rules_table.current_id or 0)
            if rule is not None:
                self._switch_rule(rule, not rule.enabled)
            return
        channel = self._current()
        if channel is not None:
            self._switch(channel, not channel.enabled)

    @work(group="act")
    async def _switch_rule(self, rule: RuleRead, enabled: bool) -> None:
        done = f"Rule {rule.name} {'on' if enabled else 'off'}"
        update = self.upmetr.api.notification_rules.update(rule.id, enabled=enabled)
        changed = await self.attempt(update, done)
        if changed is not None:
            self.rules[changed.id] = changed
            self._show_rules()

    @work(group="act")
    async def _switch(self, channel: ChannelRead, enabled: bool) -> None:
        done = f"{channel.name} {'on' if enabled else 'off'}"
        update = self.upmetr.api.channels.update(channel.id, enabled=enabled)
        changed = await self.attempt(update, done)
        if changed is not None:
            self.channels[changed.id] = changed
            cells = channel_cells(changed, self.upmetr.now(), self.app.theme_variables)
            self.table.upsert_row(changed.id, cells)
            self._title()
