"""One resource: what it is, its tags and provider metadata, and who did what to it.

Keys: s start, x stop, r reboot (each asks first; only those the resource supports now).
Follows the resource's `resource.state` events.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from console.formatting import ago, short_duration
from console.screens.confirm import ConfirmScreen
from console.screens.resource_text import VERBS, describe, state_text
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col, actor_forms, moment_forms
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.events import Event, ResourceActionFinished, ResourceStateChanged
from shared.api.resources import (
    ActionStatus,
    ResourceActionName,
    ResourceActionRead,
    ResourceDetail,
)

HISTORY_COLUMNS = (
    Col("REQUESTED", 90),
    Col("ACTION", 100),
    Col("OUTCOME", 95),
    Col("WHO", 60),
    Col("FROM", 50),
    Col("TO", 50),
    Col("TOOK", 40),
    Col("DETAIL", 80, min_width=10),
)
TAG_COLUMNS = (Col("TAG", 100, min_width=8), Col("VALUE", 90, min_width=8))
METADATA_COLUMNS = (Col("METADATA", 100, min_width=12), Col("VALUE", 90, min_width=10))
HISTORY = 50
# Metadata values longer than this are cut: the detail is read, not copied from.
VALUE_WIDTH = 60
OUTCOME_STYLES: dict[ActionStatus, tuple[str, str]] = {
    ActionStatus.pending: ("○", "secondary"),
    ActionStatus.running: ("◐", "warning"),
    ActionStatus.succeeded: ("✓", "success"),
    ActionStatus.failed: ("✗", "error"),
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested provider metadata as `a.b.c = value` lines, in the provider's order."""
    if isinstance(value, dict) and value:
        lines: list[tuple[str, str]] = []
        for key, item in value.items():
            lines.extend(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return lines
    if isinstance(value, list) and value and all(isinstance(i, dict | list) for i in value):
        lines = []
        for index, item in enumerate(value):
            lines.extend(flatten(item, f"{prefix}[{index}]"))
        return lines
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(shown) > VALUE_WIDTH:
        shown = shown[: VALUE_WIDTH - 1] + "…"
    return [(prefix, shown)]


def summary_text(resource: ResourceDetail, now: datetime, colors: dict[str, str]) -> Text:
    text = Text.assemble(
        (f"#{resource.id} {resource.name}  ", "bold"),
        state_text(resource.state, colors),
        f"  {resource.type.value}",
        f" {resource.size}" if resource.size else "",
    )

    def line(name: str, value: str) -> None:
        text.append(f"\n{name:<13}", style="dim")
        text.append(value)

    line("provider id", f"{resource.provider} {resource.provider_id}")
    line("where", f"{resource.region}, account {resource.account_name}")
    changed = resource.state_changed_at
    line("state since", f"{_when(changed)} UTC ({ago(changed, now)} ago)")
    line(
        "seen",
        f"first {_when(resource.discovered_at)} UTC, last {ago(resource.last_seen_at, now)} ago",
    )
    if resource.terminated_at is not None:
        line("terminated", f"{_when(resource.terminated_at)} UTC")
    actions = ", ".join(action.value for action in resource.actions)
    line("actions now", actions or "none")
    return text


def action_cells(action: ResourceActionRead, colors: dict[str, str]) -> list[Cell]:
    glyph, variable = OUTCOME_STYLES[action.status]
    outcome = Text(f"{glyph} {action.status.value}", style=colors.get(variable, ""))
    took = "-"
    if action.finished_at is not None:
        took = short_duration((action.finished_at - action.requested_at).total_seconds())
    return [
        moment_forms(action.requested_at),
        action.action.value,
        outcome,
        actor_forms(action.actor),
        action.from_state or "-",
        action.to_state or "-",
        took,
        action.detail or "",
    ]


class ResourceDetailScreen(ViewScreen):
    VIEW = "resource"
    CSS_PATH = "../styles/cloud.tcss"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"start", "stop", "reboot"})
    BINDINGS = [
        Binding("s", "start", "Start", id="resource.start"),
        Binding("x", "stop", "Stop", id="resource.stop"),
        Binding("r", "reboot", "Reboot", id="resource.reboot"),
        Binding("escape", "back", "Back", id="resource.back"),
    ]

    def __init__(self, resource_id: int) -> None:
        super().__init__()
        self.resource_id = resource_id
        self.resource: ResourceDetail | None = None
        self._summary_shown = ""

    def tick(self) -> None:
        self._summarize()  # `state since ... (12d ago)`

    def _summarize(self) -> None:
        if self.resource is None:
            return
        summary = summary_text(self.resource, self.upmetr.now(), self.app.theme_variables)
        if summary.plain != self._summary_shown:
            self._summary_shown = summary.plain
            self.query_one("#resource-summary", Static).update(summary)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="resource-body"):
            yield Static(f"resource {self.resource_id}", id="resource-summary")
            with Horizontal(id="resource-facts"):
                yield ResourceTable(TAG_COLUMNS, id="resource-tags")
                yield ResourceTable(METADATA_COLUMNS, id="resource-metadata")
            yield ResourceTable(HISTORY_COLUMNS, id="resource-actions")

    async def load(self) -> None:
        api = self.upmetr.api.resources
        resource = await self.attempt(api.get(self.resource_id))
        if resource is None:
            return
        history = await self.attempt(api.actions(self.resource_id, per_page=HISTORY))
        self.resource = resource
        colors = self.app.theme_variables
        self._summarize()
        tags = self.query_one("#resource-tags", ResourceTable)
        tags.set_rows(list(enumerate(list(pair) for pair in sorted(resource.tags.items()))))
        tags.set_title("tags", str(len(resource.tags)))
        metadata = self.query_one("#resource-metadata", ResourceTable)
        metadata.set_rows(list(enumerate(list(pair) for pair in flatten(resource.metadata))))
        metadata.border_title = "provider metadata"
        if history is not None:
            table = self.query_one("#resource-actions", ResourceTable)
            table.set_rows([(item.id, action_cells(item, colors)) for item in history.items])
            table.set_title("actions", str(history.total))
        self.refresh_bindings()

    def live_many(self, events: list[Event]) -> None:
        """A state change or a finished action of this resource re-reads it once."""
        if any(self._about_this(event) for event in events):
            self.reload()

    def _about_this(self, event: Event) -> bool:
        data = event.data
        if isinstance(data, ResourceStateChanged):
            return data.id == self.resource_id
        return isinstance(data, ResourceActionFinished) and data.resource_id == self.resource_id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed or self.resource is None or action not in self.WRITE_ACTIONS:
            return allowed
        # Shown, but disabled, when the resource's state does not allow it now.
        return allowed if ResourceActionName(action) in self.resource.actions else None

    def action_start(self) -> None:
        self._ask(ResourceActionName.start)

    def action_stop(self) -> None:
        self._ask(ResourceActionName.stop)

    def action_reboot(self) -> None:
        self._ask(ResourceActionName.reboot)

    def _ask(self, action: ResourceActionName) -> None:
        if self.resource is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._act(action)

        asking, _ = VERBS[action]
        self.app.push_screen(ConfirmScreen(f"{asking} {describe(self.resource)}?"), confirmed)

    @work(group="act")
    async def _act(self, action: ResourceActionName) -> None:
        api = self.upmetr.api.resources
        call = {"start": api.start, "stop": api.stop, "reboot": api.reboot}[action.value]
        name = self.resource.name if self.resource else f"resource {self.resource_id}"
        if await self.attempt(call(self.resource_id), f"{VERBS[action][1]} {name}"):
            self.reload()
