"""Budgets: a spending limit per period, and how the period is going."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.api.common import ApiModel, Name, ReadModel, UtcDatetime


class BudgetPeriod(StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"


class BudgetState(StrEnum):
    ok = "ok"
    warning = "warning"  # past the alert threshold
    exceeded = "exceeded"  # past 100%


class BudgetCreate(ApiModel):
    name: Name
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    currency: Literal["USD"] = "USD"
    period: BudgetPeriod = BudgetPeriod.monthly
    alert_threshold_pct: int = Field(80, ge=1, le=100)
    account_id: int | None = None
    service: str | None = Field(None, min_length=1, max_length=200)


class BudgetUpdate(ApiModel):
    """Every field optional; null on account_id or service widens the budget again."""

    name: Name | None = None
    amount: Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=2)
    period: BudgetPeriod | None = None
    alert_threshold_pct: int | None = Field(None, ge=1, le=100)
    account_id: int | None = None
    service: str | None = Field(None, min_length=1, max_length=200)


class BudgetRead(ReadModel):
    id: int
    name: str
    amount: Decimal
    currency: str
    period: BudgetPeriod
    alert_threshold_pct: int
    account_id: int | None
    service: str | None
    # The state at the last evaluation (after each cost sync, and on create and change).
    state: BudgetState = BudgetState.ok
    evaluated_at: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class BudgetStatus(ReadModel):
    budget_id: int
    name: str
    currency: str
    amount: Decimal
    period_start: date
    period_end: date
    spent: Decimal
    remaining: Decimal
    pct_used: float
    burn_rate_per_day: Decimal
    projected_total: Decimal
    projected_overage: Decimal
    state: BudgetState
