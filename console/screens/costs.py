"""Costs: this month against the last, the forecast with its interval, where the money goes
by service and by account with each one's daily trend, and how the last sync went.

Keys: y sync now (admin). A `cost.synced` event re-reads the view (the figures, the chart and
the sparklines move together); `job.updated` of a cost sync shows its progress. Ranges are
days of the console's clock (UTC): this month to date, and the last DAILY_DAYS for trends.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import ClassVar, Literal

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static

from console.formatting import ago
from console.screens.view import ViewScreen
from console.widgets.cost_breakdown import CostBreakdown, CostLine, money
from console.widgets.forecast_chart import ForecastChart
from shared.api.costs import (
    AccountCost,
    CostForecast,
    CostSummary,
    CostSyncRead,
    DailyCosts,
    GroupBy,
    ServiceCost,
)
from shared.api.events import CostSynced, Event, JobUpdated

DAILY_DAYS = 30
FORECAST_DAYS: Literal[30, 90] = 30


def month_start(day: date) -> date:
    return day.replace(day=1)


def series_of(daily: DailyCosts | None) -> dict[str, tuple[float, ...]]:
    if daily is None:
        return {}
    return {series.key: tuple(float(a) for a in series.amounts) for series in daily.series}


def totals_of(daily: DailyCosts | None) -> list[tuple[date, float]]:
    """Each day's cost, all series together."""
    if daily is None:
        return []
    sums = [sum(float(s.amounts[i]) for s in daily.series) for i in range(len(daily.days))]
    return list(zip(daily.days, sums, strict=True))


def service_lines(
    services: list[ServiceCost], daily: dict[str, tuple[float, ...]]
) -> list[CostLine]:
    return [
        CostLine(
            index,
            item.service,
            item.amount,
            item.share_pct,
            item.change_pct,
            daily.get(item.service, ()),
        )
        for index, item in enumerate(services, start=1)
    ]


def account_lines(
    accounts: list[AccountCost], daily: dict[str, tuple[float, ...]]
) -> list[CostLine]:
    return [
        CostLine(
            item.account_id,
            item.name,
            item.amount,
            item.share_pct,
            item.change_pct,
            daily.get(str(item.account_id), ()),
        )
        for item in accounts
    ]


def summary_text(
    summary: CostSummary, forecast: CostForecast | None, colors: dict[str, str]
) -> Text:
    """Two lines: the months, then the pace and what the next days should cost."""
    currency = summary.currency
    text = Text.assemble(
        ("month to date ", "dim"),
        (money(summary.current_month, currency), "bold"),
        ("   last month ", "dim"),
        money(summary.previous_month, currency),
        ("   month end ", "dim"),
    )
    if summary.forecast_month_end is None:
        text.append("not enough history")
    else:
        text.append(money(summary.forecast_month_end, currency), style="bold")
        if summary.previous_month:
            change = float(summary.forecast_month_end / summary.previous_month - 1) * 100
            up = change > 0
            text.append(
                f" {'▲' if up else '▼'} {abs(change):.0f}%",
                style=colors.get("warning" if up else "success", ""),
            )
    text.append("\ndaily average ", style="dim")
    if summary.daily_average is None:  # no complete day yet
        text.append("not enough history")
    else:
        text.append(money(summary.daily_average, currency))
    if forecast is not None and forecast.total is not None:
        text.append(f"   next {len(forecast.points)} days ", style="dim")
        text.append(money(forecast.total, currency))
        if forecast.total_lower is not None and forecast.total_upper is not None:
            text.append(
                f" ({forecast.interval_pct}%: {money(forecast.total_lower, currency)}-"
                f"{money(forecast.total_upper, currency)})"
            )
    return text


def sync_text(syncs: list[CostSyncRead], now: datetime, colors: dict[str, str]) -> Text:
    """The last sync of each account in one line: when, how it went, what it cost."""
    if not syncs:
        return Text("never synced: y syncs now", style="italic")
    text = Text("last sync ", style="dim")
    for index, item in enumerate(sorted(syncs, key=lambda s: s.account_name)):
        if index:
            text.append("; ")
        moment = item.finished_at or item.started_at
        style = colors.get("error", "") if item.status == "failed" else ""
        text.append(f"{item.account_name} ", style="bold")
        text.append(f"{item.status} {ago(moment, now)} ago", style=style)
        calls = "API call" if item.api_calls == 1 else "API calls"
        text.append(f", {item.rows} rows, {item.api_calls} {calls} ({money(item.api_cost)})")
        if item.status == "failed" and item.detail:
            text.append(f": {item.detail}", style=style)
    return text


class CostsScreen(ViewScreen):
    VIEW = "costs"
    CSS_PATH = "../styles/cloud.tcss"
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"sync"})
    BINDINGS = [
        Binding("y", "sync", "Sync now", id="costs.sync"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.summary: CostSummary | None = None
        self.syncs: list[CostSyncRead] = []
        self.syncing: set[int] = set()  # job ids of cost syncs under way
        self._sync_shown = ""

    def compose_body(self) -> ComposeResult:
        yield Static("reading costs ...", id="costs-summary")
        yield ForecastChart(id="forecast")
        with Horizontal(id="breakdowns"):
            yield CostBreakdown("service", id="by-service")
            yield CostBreakdown("account", id="by-account")
        yield Static(id="costs-sync")

    async def load(self) -> None:
        api = self.upmetr.api.costs
        today = self.upmetr.now().date()
        start, first_day = month_start(today), today - timedelta(days=DAILY_DAYS - 1)
        summary = await self.attempt(api.summary())
        if summary is None:  # unreachable or refused: one complaint, not seven
            return
        services, accounts, by_service, by_account, forecast, syncs = await asyncio.gather(
            self.attempt(api.by_service(start=start, end=today)),
            self.attempt(api.by_account(start=start, end=today)),
            self.attempt(api.daily(start=first_day, end=today, group_by=GroupBy.service)),
            self.attempt(api.daily(start=first_day, end=today, group_by=GroupBy.account)),
            self.attempt(api.forecast(FORECAST_DAYS)),
            self.attempt(api.syncs()),
        )
        self.summary = summary
        colors = self.app.theme_variables
        self.query_one("#costs-summary", Static).update(summary_text(summary, forecast, colors))
        totals = totals_of(by_service)
        complete_through = by_service.complete_through if by_service else None
        self.query_one(ForecastChart).show(totals, forecast, complete_through=complete_through)
        if services is not None:
            self.query_one("#by-service", CostBreakdown).show(
                service_lines(services, series_of(by_service)),
                currency=summary.currency,
            )
        if accounts is not None:
            self.query_one("#by-account", CostBreakdown).show(
                account_lines(accounts, series_of(by_account)),
                currency=summary.currency,
            )
        if syncs is not None:
            self._show_syncs(syncs)

    def tick(self) -> None:
        if self.summary is not None:  # read once already: `succeeded 5h ago`
            self._show_syncs(self.syncs)

    def _show_syncs(self, syncs: list[CostSyncRead]) -> None:
        self.syncs = syncs
        line = sync_text(syncs, self.upmetr.now(), self.app.theme_variables)
        if self.syncing:
            line = Text.assemble(("syncing now ...  ", "bold"), line)
        if line.plain != self._sync_shown:
            self._sync_shown = line.plain
            self.query_one("#costs-sync", Static).update(line)

    def live_many(self, events: list[Event]) -> None:
        """A finished sync re-reads everything once, however many accounts it synced."""
        synced = False
        for event in events:
            data = event.data
            if isinstance(data, CostSynced):
                synced = True
                self.syncing.discard(data.job_id or 0)
            elif isinstance(data, JobUpdated) and data.kind == "cost_sync":
                if data.status in ("queued", "running"):
                    self.syncing.add(data.id)
                else:
                    self.syncing.discard(data.id)
                    synced = True
        if synced:
            self.reload()

    def action_sync(self) -> None:
        self._sync()

    @work(group="act")
    async def _sync(self) -> None:
        accepted = await self.attempt(self.upmetr.api.costs.sync())
        if accepted is not None:
            self.syncing.add(accepted.job_id)
            self.notify(f"Cost sync started (job {accepted.job_id})")
            self._show_syncs(self.syncs)
