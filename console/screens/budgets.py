"""Budgets: each budget's period so far as a bar of spent against its limit, where the
period is heading at the current burn rate, and by how much it would pass the limit.

The bar reads without colour: filled blocks are what is spent, `│` marks the alert
threshold, `▶` at the end says the limit is passed; the state has a glyph and a word.
The fullest budget comes first. A `cost.synced` event re-reads the view (the server
evaluates budgets after each sync).
"""

from __future__ import annotations

import asyncio
from datetime import date

from rich.text import Text
from textual.app import ComposeResult

from console.screens.view import ViewScreen
from console.widgets.cost_breakdown import money
from console.widgets.resource_table import ResourceTable
from shared.api.budgets import BudgetRead, BudgetState, BudgetStatus
from shared.api.events import CostSynced, Event

# What needs acting on first: the state, how full, and by how much it will pass the limit.
COLUMNS = (
    "STATE",
    "NAME",
    "SPENT OF LIMIT",
    "USED",
    "OVER BY",
    "SPENT",
    "LIMIT",
    "PROJECTED",
    "PERIOD",
    "SCOPE",
)
BAR_WIDTH = 20
PAGE = 200
STATE_STYLES: dict[BudgetState, tuple[str, str]] = {
    BudgetState.ok: ("●", "success"),
    BudgetState.warning: ("△", "warning"),
    BudgetState.exceeded: ("▲", "error"),
}


def state_text(state: BudgetState, colors: dict[str, str]) -> Text:
    glyph, variable = STATE_STYLES[state]
    return Text(f"{glyph} {state.value}", style=colors.get(variable, ""))


def bar(pct_used: float, threshold_pct: int, style: str, width: int = BAR_WIDTH) -> Text:
    """`██████████│░░░░░░░░ ` at 50% with the alert at 55%; `████...█▶` past the limit."""
    filled = min(max(round(pct_used / 100 * width), 0), width)
    if pct_used > 0 and filled == 0:
        filled = 1  # something was spent: never an empty bar
    mark = min(round(threshold_pct / 100 * width), width - 1)
    text = Text("█" * filled, style=style)
    for cell in range(filled, width):
        text.append("│" if cell == mark else "░", style="dim")
    text.append("▶" if pct_used > 100 else " ", style=style)
    return text


def period_text(status: BudgetStatus) -> str:
    def day(value: date) -> str:
        return value.strftime("%b %d")

    return f"{day(status.period_start)}-{day(status.period_end)}"


def scope_text(budget: BudgetRead | None, accounts: dict[int, str]) -> str:
    if budget is None:
        return "-"
    parts = []
    if budget.account_id is not None:
        parts.append(accounts.get(budget.account_id, f"account {budget.account_id}"))
    if budget.service:
        parts.append(budget.service)
    return ", ".join(parts) or "everything"


def budget_cells(
    status: BudgetStatus,
    budget: BudgetRead | None,
    accounts: dict[int, str],
    colors: dict[str, str],
) -> list[str | Text]:
    _, variable = STATE_STYLES[status.state]
    style = colors.get(variable, "")
    threshold = budget.alert_threshold_pct if budget else 100
    currency = status.currency
    over = (
        Text(money(status.projected_overage, currency), style=style)
        if (status.projected_overage > 0)
        else Text("-")
    )
    return [
        state_text(status.state, colors),
        status.name,
        bar(status.pct_used, threshold, style),
        f"{status.pct_used:.0f}%",
        over,
        money(status.spent, currency),
        money(status.amount, currency),
        money(status.projected_total, currency),
        period_text(status),
        scope_text(budget, accounts),
    ]


class BudgetsScreen(ViewScreen):
    VIEW = "budgets"

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[BudgetStatus] = []

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, widths={"SPENT OF LIMIT": BAR_WIDTH + 1}, id="budgets")

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    async def load(self) -> None:
        api = self.upmetr.api
        statuses, budgets = await asyncio.gather(
            self.attempt(api.budgets.status_all()),
            self.attempt(api.budgets.list(per_page=PAGE)),
        )
        if statuses is None:
            return
        statuses.sort(key=lambda item: (-item.pct_used, item.name))  # the fullest first
        known = {budget.id: budget for budget in budgets.items} if budgets else {}
        accounts: dict[int, str] = {}
        if any(budget.account_id is not None for budget in known.values()):
            page = await self.attempt(api.cloud_accounts.list(per_page=PAGE))
            accounts = {account.id: account.name for account in page.items} if page else {}
        self.statuses = statuses
        colors = self.app.theme_variables
        self.table.set_rows(
            [
                (item.budget_id, budget_cells(item, known.get(item.budget_id), accounts, colors))
                for item in statuses
            ]
        )
        counts = [
            f"{sum(item.state is state for item in statuses)} {state.value}"
            for state in (BudgetState.exceeded, BudgetState.warning)
            if any(item.state is state for item in statuses)
        ]
        self.table.set_title(
            "budgets", str(len(statuses)), f": {', '.join(counts)}" if counts else ""
        )

    def live_many(self, events: list[Event]) -> None:
        if any(isinstance(event.data, CostSynced) for event in events):
            self.reload()
