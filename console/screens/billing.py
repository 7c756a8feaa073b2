"""Billing (`:billing`): the organization's plan and subscription, what it uses of every
limit of the plan, and its invoices.

Keys (superadmins; anyone else reads): `c` starts a checkout (asks the plan, then month or
year) and `p` opens Stripe's billing portal, each by showing the URL to open in a browser;
`x` cancels at the end of the period paid for, after a yes-or-no, and `r` takes that back.
On a server without billing (no Stripe key) the server's answer says so: the keys ask it
rather than guess. A monitor added or deleted reads the usage again; the subscription
changes by Stripe's webhooks, which no live event announces, so ctrl+r reads it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.screens.confirm import ConfirmScreen
from console.screens.text_entry import TextEntryScreen
from console.screens.view import ViewScreen
from console.widgets.column_fit import Col
from console.widgets.cost_breakdown import money
from console.widgets.plan_usage import PlanUsage
from console.widgets.resource_table import Cell, ResourceTable
from shared.api.billing import (
    Interval,
    InvoiceRead,
    InvoiceStatus,
    PlanRead,
    SubscriptionRead,
    SubscriptionStatus,
)
from shared.api.common import Role
from shared.api.events import Event, MonitorCreated, MonitorDeleted

PER_PAGE = 100
INVOICE_COLUMNS = (
    Col("NUMBER", 100, width=7),
    Col("DATE", 90, width=10),
    Col("TOTAL", 95, min_width=10),
    Col("STATUS", 98, width=13),
)
# Theme variable of each invoice status; the word is the status itself.
INVOICE_STYLES = {
    InvoiceStatus.draft: "text-muted",
    InvoiceStatus.open: "warning",
    InvoiceStatus.paid: "success",
    InvoiceStatus.void: "text-muted",
    InvoiceStatus.uncollectible: "error",
}
# Subscription statuses that need someone to act (a payment failed or never completed).
TROUBLED = frozenset(
    {
        SubscriptionStatus.past_due,
        SubscriptionStatus.unpaid,
        SubscriptionStatus.incomplete,
        SubscriptionStatus.incomplete_expired,
    }
)


def day(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d")


def plan_text(subscription: SubscriptionRead, colors: dict[str, str]) -> Text:
    """Two lines: the plan, its status and interval; the period and whether it cancels."""
    plan = subscription.plan
    status = subscription.status
    text = Text.assemble(("Plan ", "dim"), (plan.name, "bold"), f" ({plan.code})  ")
    text.append(status.value, style=f"bold {colors.get('error', '')}" if status in TROUBLED else "")
    if subscription.interval is not None:
        text.append(f"  billed {subscription.interval.value}ly")
    text.append("\n")
    if not subscription.billing_enabled:
        text.append("Billing is off on this server: its plan and usage only", style="dim")
        return text
    text.append("Period ends ", style="dim")
    text.append(day(subscription.current_period_end))
    if subscription.cancel_at_period_end:
        text.append("  cancels at period end", style=f"bold {colors.get('warning', '')}")
    elif subscription.current_period_end is not None:
        text.append("  renews")
    return text


def invoice_cells(invoice: InvoiceRead, colors: dict[str, str]) -> list[Cell]:
    return [
        "draft" if invoice.number is None else str(invoice.number),
        day(invoice.finalized_at or invoice.created_at),
        money(invoice.total, invoice.currency),
        Text(invoice.status.value, style=colors.get(INVOICE_STYLES[invoice.status], "")),
    ]


def for_sale(plans: list[PlanRead]) -> list[PlanRead]:
    """The plans a checkout can take: those with a price."""
    return [plan for plan in plans if plan.price_month_cents or plan.price_year_cents]


class UrlScreen(ModalScreen[None]):
    """A URL to open in a browser: selectable with the mouse, `c` copies it (OSC 52)."""

    BINDINGS = [
        Binding("c", "copy", "Copy", id="url.copy"),
        Binding("escape,q,enter", "close", "Close", id="url.close"),
    ]

    def __init__(self, title: str, url: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.url = url

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog url"):
            yield Static(self.title_text, classes="question")
            yield Static(self.url, id="url", markup=False)
            yield Static("c copy  esc close", classes="keys")

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.url)
        self.notify("Copied")

    def action_close(self) -> None:
        self.dismiss(None)


class BillingScreen(ViewScreen):
    VIEW = "billing"
    CSS_PATH = "../styles/billing.tcss"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"checkout", "portal", "cancel", "resume"})
    BINDINGS = [
        Binding("c", "checkout", "Checkout", id="billing.checkout"),
        Binding("p", "portal", "Portal", id="billing.portal"),
        Binding("x", "cancel", "Cancel plan", id="billing.cancel"),
        Binding("r", "resume", "Resume", id="billing.resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.subscription: SubscriptionRead | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="billing-plan")
        yield PlanUsage(id="billing-usage")
        yield ResourceTable(INVOICE_COLUMNS, id="billing-invoices")

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#billing-invoices", ResourceTable)

    @property
    def superadmin(self) -> bool:
        me = self.upmetr.me
        return me is not None and me.role.rank >= Role.superadmin.rank

    async def load(self) -> None:
        api = self.upmetr.api.billing
        subscription, usage, invoices = await asyncio.gather(
            self.attempt(api.subscription()),
            self.attempt(api.usage()),
            self.attempt(api.invoices(per_page=PER_PAGE)),
        )
        colors = self.app.theme_variables
        if subscription is not None:
            self.subscription = subscription
            self.query_one("#billing-plan", Static).update(plan_text(subscription, colors))
        if usage is not None:
            usage_widget = self.query_one(PlanUsage)
            usage_widget.lines = tuple(usage.items)
            usage_widget.border_title = f"usage of {usage.plan.name}"
        if invoices is not None:
            self.table.set_rows(
                [(invoice.id, invoice_cells(invoice, colors)) for invoice in invoices.items]
            )
            self.table.set_title("invoices", str(invoices.total))
        self.refresh_bindings()  # the role is known now

    def live_many(self, events: list[Event]) -> None:
        """A monitor added or deleted changes the usage: read it again."""
        if any(isinstance(event.data, MonitorCreated | MonitorDeleted) for event in events):
            self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.WRITE_ACTIONS and not self.superadmin:
            return False  # paying is a superadmin's: the others read
        return super().check_action(action, parameters)

    # -- actions -------------------------------------------------------------------------

    def _billing_off(self) -> bool:
        return self.subscription is not None and not self.subscription.billing_enabled

    def action_checkout(self) -> None:
        current = self.subscription.plan.code if self.subscription else ""
        if self._billing_off():  # the server says why nothing can be bought; no questions
            self._checkout(current, Interval.month)
            return
        self._ask_plan()

    @work(group="act")
    async def _ask_plan(self) -> None:
        plans = await self.attempt(self.upmetr.api.plans.list())
        if plans is None:
            return
        codes = ", ".join(plan.code for plan in for_sale(plans)) or "none for sale"
        plan = await self.app.push_screen_wait(
            TextEntryScreen("Subscribe to which plan?", placeholder=codes)
        )
        if not plan:
            return
        interval = await self.app.push_screen_wait(
            TextEntryScreen(f"Pay for {plan} by month or year?", placeholder="month or year")
        )
        if not interval:
            return
        try:
            chosen = Interval(interval.lower())
        except ValueError:
            self.notify(f"{interval!r} is neither month nor year", severity="warning")
            return
        self._checkout(plan, chosen)

    @work(group="act")
    async def _checkout(self, plan: str, interval: Interval) -> None:
        session = await self.attempt(self.upmetr.api.billing.checkout(plan=plan, interval=interval))
        if session is not None:
            title = f"Pay for {plan} ({interval.value}ly) on Stripe: open this URL"
            self.app.push_screen(UrlScreen(title, session.checkout_url))

    @work(group="act")
    async def action_portal(self) -> None:
        session = await self.attempt(self.upmetr.api.billing.portal())
        if session is not None:
            title = "Stripe's billing portal (card, plan, invoices): open this URL"
            self.app.push_screen(UrlScreen(title, session.portal_url))

    def action_cancel(self) -> None:
        if self._billing_off():
            self._change(cancel=True)
            return
        end = day(self.subscription.current_period_end) if self.subscription else "-"
        question = f"Cancel the subscription at the end of its period ({end})?"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change(cancel=True)

        self.app.push_screen(ConfirmScreen(question), confirmed)

    def action_resume(self) -> None:
        self._change(cancel=False)

    @work(group="act")
    async def _change(self, *, cancel: bool) -> None:
        api = self.upmetr.api.billing
        done = "The subscription ends with its period" if cancel else "The subscription renews"
        changed = await self.attempt(api.cancel() if cancel else api.resume(), done)
        if changed is not None:
            self.subscription = changed
            plan = plan_text(changed, self.app.theme_variables)
            self.query_one("#billing-plan", Static).update(plan)
