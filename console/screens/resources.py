"""Resources: what discovery found in the organization's cloud accounts, states live.

Keys: enter detail, s start, x stop, r reboot (each asks first), space mark (bulk).
`:res type=ec2 region=eu-west-1 tag=env:prod` asks the server for those only (see
console/resource_filters.py); `/` narrows the rows shown, as in every view. Rows change in
place on `resource.state` events. With thousands of resources the first MAX_ROWS are shown
(the border says how many there are).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from console.formatting import ago
from console.resource_filters import CLEAR_WORDS, ResourceFilters
from console.screens.confirm import ConfirmScreen
from console.screens.resource_text import VERBS, describe, state_text
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.events import Event, ResourceActionFinished, ResourceStateChanged
from shared.api.resources import ResourceActionName, ResourceRead, ResourceType

# The state changes live: a fixed width, that of the longest common state ("◐ rebooting").
LIVE_WIDTHS = {"STATE": 12, "CHANGED": 7}
COLUMNS = (
    Col("STATE", 100, width=LIVE_WIDTHS["STATE"]),
    Col("NAME", 95, min_width=10),
    Col("TYPE", 75),
    Col("SIZE", 60),
    Col("REGION", 80),
    Col("ACCOUNT", 70),
    Col("TAGS", 30, min_width=10),
    Col("CHANGED", 85, width=LIVE_WIDTHS["CHANGED"]),
)
# Resource types by their service's short name where the column is narrow.
SHORT_TYPES = {
    ResourceType.ec2_instance: "ec2",
    ResourceType.rds_instance: "rds",
    ResourceType.s3_bucket: "s3",
    ResourceType.lambda_function: "lambda",
    ResourceType.load_balancer: "elb",
}
PAGE = 200
# Which types take which actions (the server also checks the state: 409 otherwise).
ACTIONS: dict[ResourceType, frozenset[ResourceActionName]] = {
    ResourceType.ec2_instance: frozenset(ResourceActionName),
    ResourceType.rds_instance: frozenset(ResourceActionName),
}


def tags_text(tags: dict[str, str]) -> str:
    return " ".join(f"{key}={value}" if value else key for key, value in sorted(tags.items()))


def resource_cells(resource: ResourceRead, now: datetime, colors: dict[str, str]) -> list[Cell]:
    short = SHORT_TYPES.get(resource.type)
    return [
        state_text(resource.state, colors),
        resource.name,
        (resource.type.value, short) if short else resource.type.value,
        resource.size or "-",
        resource.region,
        resource.account_name,
        tags_text(resource.tags),
        ago(resource.state_changed_at, now),
    ]


def after_state(resource: ResourceRead, data: ResourceStateChanged, now: datetime) -> ResourceRead:
    """The resource as a `resource.state` event leaves it."""
    return resource.model_copy(update={"state": data.state, "state_changed_at": now})


class ResourcesScreen(ViewScreen):
    VIEW = "resources"
    MAX_ROWS: ClassVar[int] = 1000
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"start", "stop", "reboot"})
    BINDINGS = [
        Binding("s", "start", "Start", id="resources.start"),
        Binding("x", "stop", "Stop", id="resources.stop"),
        Binding("r", "reboot", "Reboot", id="resources.reboot"),
        Binding("enter", "open", "Detail", id="resources.open", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.resources: dict[int, ResourceRead] = {}
        self.filters = ResourceFilters()
        self.total = 0

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, markable=True, id="resources")

    def on_mount(self) -> None:
        self.table.follow_time("CHANGED", self._changed)

    def _changed(self) -> list[tuple[int, Cell]]:
        now = self.upmetr.now()
        return [(item.id, ago(item.state_changed_at, now)) for item in self.resources.values()]

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    @property
    def complete(self) -> bool:
        return self.total <= self.MAX_ROWS

    def command(self, argument: str) -> None:
        """`:res <filters>`: ask the server for these resources only (`:res all`: every one)."""
        if argument.lower() in CLEAR_WORDS:
            self.filters = ResourceFilters()
        else:
            try:
                self.filters = ResourceFilters.parse(argument)
            except ValueError as exc:
                self.notify(str(exc), title="Filter not understood", severity="warning")
                return
        if self.is_mounted:
            self.reload()

    async def load(self) -> None:
        """Page through the filtered list up to MAX_ROWS, showing each page as it arrives."""
        filters = await self._resolved(self.filters)
        if filters is None:
            return
        api = self.upmetr.api.resources
        loaded: list[ResourceRead] = []
        number = 1
        while True:
            page = await self.attempt(api.list(per_page=PAGE, page=number, **filters.query()))
            if page is None:
                return
            loaded.extend(page.items)
            self.total = page.total
            self._show_all(loaded[: self.MAX_ROWS])
            if not page.items or len(loaded) >= min(page.total, self.MAX_ROWS):
                return
            number += 1

    async def _resolved(self, filters: ResourceFilters) -> ResourceFilters | None:
        """The filters with an account given by name replaced by its id."""
        if filters.account is None or filters.account_id is not None:
            return filters
        accounts = await self.attempt(self.upmetr.api.cloud_accounts.list(per_page=200))
        if accounts is None:
            return None
        for account in accounts.items:
            if account.name.lower() == filters.account.lower():
                self.filters = filters.with_account(account.id)
                return self.filters
        self.notify(f"No cloud account is named {filters.account!r}", severity="warning")
        return None

    def _show_all(self, resources: list[ResourceRead]) -> None:
        self.resources = {resource.id: resource for resource in resources}
        now = self.upmetr.now()
        colors = self.app.theme_variables
        self.table.set_rows([(item.id, resource_cells(item, now, colors)) for item in resources])
        self._title()

    def _title(self) -> None:
        shown = len(self.resources)
        counted = f"{shown}" if shown == self.total else f"first {shown} of {self.total}"
        narrowed = self.filters.describe()
        self.table.set_title("resources", counted, f" {narrowed}" if narrowed else "")

    def live(self, event: Event) -> None:
        self.live_many([event])

    def live_many(self, events: list[Event]) -> None:
        """Apply a burst of state changes, then draw each resource they touched once."""
        touched: dict[int, ResourceRead] = {}
        now = self.upmetr.now()
        for event in events:
            data = event.data
            if isinstance(data, ResourceActionFinished):
                self._report(data)
            if not isinstance(data, ResourceStateChanged):
                continue
            resource = touched.get(data.id) or self.resources.get(data.id)
            if resource is None:
                if self.complete:  # new to this list: shown if the filters keep it
                    self._fetch(data.id)
                continue
            touched[data.id] = after_state(resource, data, now)
        for resource in touched.values():
            self._show(resource)

    def _report(self, data: ResourceActionFinished) -> None:
        """A failed action says so: the row alone would only show the state it stayed in."""
        if data.status == "failed":
            name = self.name_of(data.resource_id)
            action = data.action.capitalize()
            detail = data.detail or "no reason given"
            self.notify(f"{action} {name} failed: {detail}", severity="error", timeout=10)

    @work(group="fetch")
    async def _fetch(self, resource_id: int) -> None:
        resource = await self.attempt(self.upmetr.api.resources.get(resource_id))
        fresh = resource is not None and resource.id not in self.resources
        if resource is not None and fresh and self.filters.keeps(resource):
            self.total += 1
            self._show(resource)

    def _show(self, resource: ResourceRead) -> None:
        self.resources[resource.id] = resource
        cells = resource_cells(resource, self.upmetr.now(), self.app.theme_variables)
        self.table.upsert_row(resource.id, cells)
        self._title()

    # -- actions -------------------------------------------------------------------------

    def action_open(self) -> None:
        from console.screens.resource_detail import ResourceDetailScreen

        resource_id = self.table.current_id
        if resource_id is not None:
            self.app.push_screen(ResourceDetailScreen(resource_id))

    def action_start(self) -> None:
        self.act(ResourceActionName.start)

    def action_stop(self) -> None:
        self.act(ResourceActionName.stop)

    def action_reboot(self) -> None:
        self.act(ResourceActionName.reboot)

    def act(self, action: ResourceActionName) -> None:
        """Ask, then act on the marked resources (or the one under the cursor) that can."""
        ids = [i for i in self.table.selected_ids if self._allows(i, action)]
        if not ids:
            self.notify(f"Nothing here can {action.value}", severity="warning")
            return
        asking, _ = VERBS[action]
        what = describe(self.resources[ids[0]]) if len(ids) == 1 else f"{len(ids)} resources"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run(action, ids)

        self.app.push_screen(ConfirmScreen(f"{asking} {what}?"), confirmed)

    def _allows(self, resource_id: int, action: ResourceActionName) -> bool:
        resource = self.resources.get(resource_id)
        return resource is not None and action in ACTIONS.get(resource.type, frozenset())

    @work(group="act")
    async def _run(self, action: ResourceActionName, ids: list[int]) -> None:
        api = self.upmetr.api.resources
        _, under_way = VERBS[action]
        if len(ids) == 1:
            call = {"start": api.start, "stop": api.stop, "reboot": api.reboot}[action.value]
            await self.attempt(call(ids[0]), f"{under_way} {self.name_of(ids[0])}")
            return
        outcomes = await self.attempt(api.bulk_action(ids, action))
        if outcomes is not None:
            succeeded = sum(outcome.ok for outcome in outcomes)
            failed = [f"{self.name_of(o.id)}: {o.detail}" for o in outcomes if not o.ok]
            self.notify(
                f"{under_way} {succeeded} of {len(ids)}" + "".join(f"\n{line}" for line in failed),
                severity="warning" if failed else "information",
            )
        self.table.marked.clear()
        self._show_all(list(self.resources.values()))

    def name_of(self, resource_id: int) -> str:
        resource = self.resources.get(resource_id)
        return resource.name if resource else f"resource {resource_id}"
