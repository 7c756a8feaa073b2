"""Costs: month to date, breakdowns, daily series, a local forecast, and the provider sync."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from shared.api.common import ApiModel, QueryDate, ReadModel, UtcDatetime


class CostRange(ApiModel):
    start: QueryDate | None = Field(None, description="first day (default: first of this month)")
    end: QueryDate | None = Field(None, description="last day, inclusive (default: today)")
    account_id: int | None = None


class SummaryQuery(ApiModel):
    account_id: int | None = Field(None, description="one account (default: all)")


class GroupBy(StrEnum):
    service = "service"
    account = "account"


class DailyQuery(CostRange):
    group_by: GroupBy = GroupBy.service


class ForecastQuery(ApiModel):
    days: Literal[30, 90] = 30
    account_id: int | None = None

    @field_validator("days", mode="before")
    @classmethod
    def _query_digits(cls, value: object) -> object:
        # A query string carries "30": a Literal of ints does not convert it by itself.
        return int(value) if isinstance(value, str) and value.isdigit() else value


class CostSummary(ReadModel):
    current_month: Decimal
    previous_month: Decimal
    forecast_month_end: Decimal | None = Field(description="null while history is too short")
    daily_average: Decimal | None = Field(
        description="the average of this month's complete days (before today, UTC: Cost "
        "Explorer reports a day during the next); null on the 1st"
    )
    currency: str
    last_synced_at: UtcDatetime | None


class ServiceCost(ReadModel):
    service: str
    amount: Decimal
    share_pct: float
    change_pct: float | None = Field(
        description="the range's complete days (before today) vs as many days just before "
        "them; null if new, or while the range has no complete day"
    )


class AccountCost(ReadModel):
    account_id: int
    name: str
    amount: Decimal
    share_pct: float
    change_pct: float | None


class DailySeries(ReadModel):
    key: str = Field(description="the service, or the account id")
    label: str
    amounts: list[Decimal] = Field(description="one per day of `days`")
    total: Decimal


class DailyCosts(ReadModel):
    group_by: GroupBy
    currency: str
    days: list[date]
    complete_through: date = Field(
        description="the last day with final figures (yesterday, UTC); later days are partial"
    )
    series: list[DailySeries]


class ForecastPoint(ReadModel):
    date: date
    mean: Decimal
    lower: Decimal
    upper: Decimal


class CostForecast(ReadModel):
    method: Literal["seasonal", "run_rate", "not_enough_data"]
    currency: str
    interval_pct: int = 80
    history_days: int
    total: Decimal | None
    total_lower: Decimal | None
    total_upper: Decimal | None
    points: list[ForecastPoint]


class CostSyncRead(ReadModel):
    account_id: int
    account_name: str
    status: str = Field(description="running, succeeded or failed")
    job_id: int | None
    start_day: date
    end_day: date
    rows: int
    api_calls: int
    api_cost: Decimal = Field(description="what the provider bills for these calls ($0.01 each)")
    detail: str | None
    started_at: UtcDatetime
    finished_at: UtcDatetime | None
