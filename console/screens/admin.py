"""The platform admin view (`:admin`): every organization with its plan, size and status,
and the platform's figures above them. Platform admins only; anyone else is told so.

Keys: `/` filters the organizations shown, `s` suspends the one under the cursor and `a`
reactivates it, each after a yes-or-no. No live event announces another organization's
change, so the view reads when shown, on ctrl+r and after its own actions.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from console.screens.confirm import ConfirmScreen
from console.screens.view import ViewScreen
from console.widgets.resource_table import ResourceTable
from shared.api.admin import AdminOrgRead, AdminStats, OrgStatus
from shared.api.billing import Limit

COLUMNS = ("STATUS", "SLUG", "NAME", "PLAN", "USERS", "MONITORS", "AGENTS", "GRANTED")
PER_PAGE = 200
NOT_FOR_YOU = "The admin view is for platform admins"
STATUS_STYLES = {OrgStatus.active: ("●", "success"), OrgStatus.suspended: ("■", "error")}


def status_text(status: OrgStatus, colors: dict[str, str]) -> Text:
    glyph, variable = STATUS_STYLES[status]
    return Text(f"{glyph} {status.value}", style=colors.get(variable, ""))


def used(org: AdminOrgRead, limit: Limit) -> str:
    """`3/10`, or `3` when the plan sets no limit."""
    for item in org.usage:
        if item.limit is limit:
            return str(item.current) if item.allowed is None else f"{item.current}/{item.allowed}"
    return "-"


def org_cells(org: AdminOrgRead, colors: dict[str, str]) -> list[str | Text]:
    return [
        status_text(org.status, colors),
        org.slug,
        org.name,
        org.plan,
        used(org, Limit.users),
        used(org, Limit.monitors),
        used(org, Limit.agents),
        ",".join(org.extra_modules) or "-",  # modules given on top of the plan
    ]


def stats_line(stats: AdminStats) -> str:
    return (
        f"orgs {stats.organizations} ({stats.organizations_suspended} suspended)  "
        f"users {stats.users}  monitors {stats.monitors_active}/{stats.monitors} running  "
        f"checks/min {stats.checks_per_minute:g}\n"
        f"queues: {stats.due_monitors} monitors due, {stats.pending_jobs} jobs, "
        f"{stats.pending_deliveries} deliveries pending"
    )


class AdminScreen(ViewScreen):
    VIEW = "admin"
    CSS_PATH = "../styles/admin.tcss"
    BINDINGS = [
        Binding("s", "set_status('suspended')", "Suspend", id="admin.suspend"),
        Binding("a", "set_status('active')", "Reactivate", id="admin.reactivate"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.orgs: dict[int, AdminOrgRead] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="admin-stats")
        yield ResourceTable(COLUMNS, id="admin-orgs")

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    @property
    def allowed(self) -> bool:
        me = self.upmetr.me
        return me is not None and me.user.is_platform_admin

    async def load(self) -> None:
        await self.upmetr.signed_in()
        if not self.allowed:
            self.query_one("#admin-stats", Static).update(NOT_FOR_YOU)
            self.table.set_title("organizations", "-")
            return
        api = self.upmetr.api.admin
        stats, page = await asyncio.gather(
            self.attempt(api.stats()), self.attempt(api.organizations(per_page=PER_PAGE))
        )
        if stats is not None:
            self.query_one("#admin-stats", Static).update(stats_line(stats))
        if page is None:
            return
        self.orgs = {org.id: org for org in page.items}
        colors = self.app.theme_variables
        self.table.set_rows([(org.id, org_cells(org, colors)) for org in page.items])
        suspended = sum(org.status is OrgStatus.suspended for org in page.items)
        self.table.set_title(
            "organizations", str(page.total), f": {suspended} suspended" if suspended else ""
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "set_status" and not self.allowed:
            return False
        return super().check_action(action, parameters)

    def action_set_status(self, status: str) -> None:
        org = self.orgs.get(self.table.current_id or 0)
        wanted = OrgStatus(status)
        if org is None:
            return
        if org.status is wanted:
            self.notify(f"{org.slug} is {wanted.value} already")
            return
        question = (
            f"Suspend {org.slug}? Its members, API keys and agents get 403 at once and its "
            "checks pause."
            if wanted is OrgStatus.suspended
            else f"Reactivate {org.slug}? Its tokens and checks work again."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._set_status(org.id, wanted)

        self.app.push_screen(ConfirmScreen(question), confirmed)

    async def _change(self, org_id: int, status: OrgStatus) -> AdminOrgRead | None:
        api = self.upmetr.api.admin
        call = api.suspend(org_id) if status is OrgStatus.suspended else api.reactivate(org_id)
        return await self.attempt(call, f"Organization {status.value}")

    def _set_status(self, org_id: int, status: OrgStatus) -> None:
        self.run_worker(self._apply(org_id, status), group="act")

    async def _apply(self, org_id: int, status: OrgStatus) -> None:
        changed = await self._change(org_id, status)
        if changed is not None:
            self.orgs[changed.id] = changed
            self.reload()  # the figures above change too
