"""Plans: limits and modules (checkout and invoices arrive with billing)."""

from __future__ import annotations

from enum import StrEnum

from shared.api.common import ReadModel


class Module(StrEnum):
    status_pages = "status_pages"
    audit_logs = "audit_logs"
    whitelabel = "whitelabel"


class Limit(StrEnum):
    users = "users"
    monitors = "monitors"
    cloud_accounts = "cloud_accounts"
    agents = "agents"
    status_pages = "status_pages"
    min_check_interval_seconds = "min_check_interval_seconds"
    history_days = "history_days"


class PlanRead(ReadModel):
    id: int
    code: str
    name: str
    price_month_cents: int
    price_year_cents: int
    currency: str
    limits: dict[str, int | None]
    modules: list[str]
