"""Budgets: a spending limit per period, and how the period is going."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from shared.api.common import ApiModel, Name, ReadModel, UpdateModel, UtcDatetime


class BudgetPeriod(StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"


class BudgetState(StrEnum):
    ok = "ok"
    warning = "warning"  # past the alert threshold
    exceeded = "exceeded"  # past 100%


def _amount(value: Any) -> Any:
    if isinstance(value, Decimal):  # a client building the body in Python
        value = format(value, "f")
    if not isinstance(value, str) or not _AMOUNT_PATTERN.fullmatch(value):
        raise ValueError('a decimal string above 0 with at most 2 decimals, like "1500.00"')
    return Decimal(value)


# The limit, as the contract's decimal string: above zero, at most 12 digits before the point
# and 2 after. The pattern is the whole rule, so the document states just what is accepted.
_AMOUNT = r"^([1-9][0-9]{0,11}(\.[0-9]{1,2})?|0\.([1-9][0-9]?|0[1-9]))$"
_AMOUNT_PATTERN = re.compile(_AMOUNT)
Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    WithJsonSchema({"type": "string", "pattern": _AMOUNT, "examples": ["1500.00"]}, "validation"),
]


class BudgetCreate(ApiModel):
    name: Name
    amount: Amount
    currency: Literal["USD"] = "USD"
    period: BudgetPeriod = BudgetPeriod.monthly
    alert_threshold_pct: int = Field(80, ge=1, le=100)
    account_id: int | None = None
    service: str | None = Field(None, min_length=1, max_length=200)


class BudgetUpdate(UpdateModel):
    """Every field optional; null on account_id or service widens the budget again."""

    not_null = frozenset({"name", "amount", "period", "alert_threshold_pct"})

    name: Name | None = None
    amount: Amount | None = None
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
