"""Costs and budgets namespaces (`/costs`, `/budgets`), in the `endpoint` style of resources.py."""

from __future__ import annotations

import builtins
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from shared.api.budgets import BudgetPeriod, BudgetRead, BudgetStatus
from shared.api.common import Page, jsonable
from shared.api.costs import (
    AccountCost,
    CostForecast,
    CostSummary,
    CostSyncRead,
    DailyCosts,
    GroupBy,
    ServiceCost,
)
from shared.api.jobs import JobAccepted
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint

Amount = Decimal | int | str


class _Unset(Enum):
    UNSET = "unset"


# "Leave as it is" where None means something (null widens a budget to every account).
UNSET = _Unset.UNSET


class Costs(Namespace[M]):
    """What the cloud costs: month to date, breakdowns, daily series, a forecast, the sync.

    Ranges are inclusive days; without them the server uses this month to date.
    """

    @endpoint
    def summary(self, *, account_id: int | None = None) -> Call[CostSummary]:
        """This month, last month, the month-end forecast and the daily average."""
        return Call(
            "GET", "/costs/summary", parse_as(CostSummary), params=query(account_id=account_id)
        )

    @endpoint
    def by_service(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        account_id: int | None = None,
    ) -> Call[builtins.list[ServiceCost]]:
        return Call(
            "GET",
            "/costs/by-service",
            parse_as(builtins.list[ServiceCost]),
            params=query(start=start, end=end, account_id=account_id),
        )

    @endpoint
    def by_account(
        self, *, start: date | None = None, end: date | None = None
    ) -> Call[builtins.list[AccountCost]]:
        return Call(
            "GET",
            "/costs/by-account",
            parse_as(builtins.list[AccountCost]),
            params=query(start=start, end=end),
        )

    @endpoint
    def daily(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        group_by: GroupBy | str = GroupBy.service,
        account_id: int | None = None,
    ) -> Call[DailyCosts]:
        """One series per service (or account), one amount per day: for sparklines."""
        return Call(
            "GET",
            "/costs/daily",
            parse_as(DailyCosts),
            params=query(start=start, end=end, group_by=group_by, account_id=account_id),
        )

    @endpoint
    def forecast(
        self, days: Literal[30, 90] = 30, *, account_id: int | None = None
    ) -> Call[CostForecast]:
        """Computed by the server from the synced history (no provider calls), 80% interval."""
        return Call(
            "GET",
            "/costs/forecast",
            parse_as(CostForecast),
            params=query(days=days, account_id=account_id),
        )

    @endpoint
    def sync(self) -> Call[JobAccepted]:
        """Re-read the previous and current month from the provider; a job to follow."""
        return Call("POST", "/costs/sync", parse_as(JobAccepted))

    @endpoint
    def syncs(self) -> Call[builtins.list[CostSyncRead]]:
        """The last sync per account: status, rows, provider API calls and what they cost."""
        return Call("GET", "/costs/sync", parse_as(builtins.list[CostSyncRead]))


class Budgets(Namespace[M]):
    """Spending limits per period (`/budgets`) and how each period is going."""

    @endpoint
    def list(self, *, page: int = 1, per_page: int = 50) -> Call[Page[BudgetRead]]:
        return Call(
            "GET",
            "/budgets",
            parse_as(Page[BudgetRead]),
            params=query(page=page, per_page=per_page),
        )

    @endpoint
    def get(self, budget_id: int) -> Call[BudgetRead]:
        return Call("GET", f"/budgets/{int(budget_id)}", parse_as(BudgetRead))

    @endpoint
    def create(
        self,
        *,
        name: str,
        amount: Amount,
        period: BudgetPeriod | str | None = None,
        alert_threshold_pct: int | None = None,
        account_id: int | None = None,
        service: str | None = None,
        currency: str | None = None,
    ) -> Call[BudgetRead]:
        """Without account_id or service the budget covers every account and service."""
        return Call(
            "POST",
            "/budgets",
            parse_as(BudgetRead),
            json=body(
                name=name,
                amount=Decimal(str(amount)),
                currency=currency,
                period=period,
                alert_threshold_pct=alert_threshold_pct,
                account_id=account_id,
                service=service,
            ),
        )

    @endpoint
    def update(
        self,
        budget_id: int,
        *,
        name: str | None = None,
        amount: Amount | None = None,
        period: BudgetPeriod | str | None = None,
        alert_threshold_pct: int | None = None,
        account_id: int | _Unset | None = UNSET,
        service: str | _Unset | None = UNSET,
    ) -> Call[BudgetRead]:
        """Change what is given. account_id=None or service=None widens the budget again."""
        changes: dict[str, Any] = body(
            name=name,
            amount=None if amount is None else Decimal(str(amount)),
            period=period,
            alert_threshold_pct=alert_threshold_pct,
        )
        if account_id is not UNSET:
            changes["account_id"] = account_id
        if service is not UNSET:
            changes["service"] = jsonable(service)
        return Call("PATCH", f"/budgets/{int(budget_id)}", parse_as(BudgetRead), json=changes)

    @endpoint
    def delete(self, budget_id: int) -> Call[None]:
        return Call("DELETE", f"/budgets/{int(budget_id)}", no_content)

    @endpoint
    def status(self, budget_id: int) -> Call[BudgetStatus]:
        """Spent, remaining, burn rate, projected total and overage, and the state."""
        return Call("GET", f"/budgets/{int(budget_id)}/status", parse_as(BudgetStatus))

    @endpoint
    def status_all(self) -> Call[builtins.list[BudgetStatus]]:
        return Call("GET", "/budgets/status", parse_as(builtins.list[BudgetStatus]))
