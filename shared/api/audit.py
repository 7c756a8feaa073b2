"""Audit log entries: append-only records of security-relevant events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from shared.api.common import ApiModel, QueryTime, ReadModel, UtcDatetime

AuditStatus = Literal["success", "failed"]


class AuditLogRead(ReadModel):
    id: int
    user_id: int | None
    user_email: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    ip: str | None
    user_agent: str | None
    status: AuditStatus
    detail: str | None
    created_at: UtcDatetime


class AuditFilter(ApiModel):
    action: str | None = Field(None, max_length=100)
    status: AuditStatus | None = None
    user_id: int | None = Field(None, ge=1)
    resource_type: str | None = Field(None, max_length=100)
    from_: QueryTime | None = Field(None, alias="from")
    to: QueryTime | None = None


def _int_if_digits(value: Any) -> Any:
    """Query strings arrive as text, and pydantic matches an int Literal only to an int."""
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


class AuditQuery(AuditFilter):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: Annotated[Literal[25, 50, 100], BeforeValidator(_int_if_digits)] = 50


class AuditExportQuery(AuditFilter):
    format: Literal["csv", "json"] = "csv"


class AuditSummary(ReadModel):
    total: int
    today: int
    logins_24h: int
    failed_logins_24h: int
