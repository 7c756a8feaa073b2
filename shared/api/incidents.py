"""Incidents: what went wrong, its lifecycle (open -> acknowledged -> resolved) and timeline."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from shared.api.common import ApiModel, Lines, Name, PageQuery, QueryTime, ReadModel, UtcDatetime

MAX_BULK_IDS = 200
_ID = Annotated[int, Field(ge=1, le=2**63 - 1)]
Text = Annotated[Lines, Field(min_length=1, max_length=2000)]


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


class IncidentStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class TriggerType(StrEnum):
    monitor_down = "monitor_down"
    monitor_degraded = "monitor_degraded"
    ssl_expiring = "ssl_expiring"
    budget_threshold = "budget_threshold"
    budget_exceeded = "budget_exceeded"
    infra_metric = "infra_metric"
    agent_offline = "agent_offline"
    cloudwatch_metric = "cloudwatch_metric"
    manual = "manual"


class TimelineKind(StrEnum):
    opened = "opened"
    acknowledged = "acknowledged"
    resolved = "resolved"
    reopened = "reopened"
    note = "note"
    check = "check"
    notified = "notified"


class IncidentRead(ReadModel):
    id: int
    title: str
    description: str | None
    severity: Severity
    status: IncidentStatus
    trigger_type: TriggerType
    target_type: str | None = Field(description='what the trigger watches, e.g. "monitor"')
    target_id: int | None
    opened_at: UtcDatetime
    acknowledged_at: UtcDatetime | None
    acknowledged_by_id: int | None
    resolved_at: UtcDatetime | None
    resolved_by_id: int | None
    resolved_automatically: bool
    created_by_id: int | None = Field(description="null when opened by the system")
    duration_seconds: int | None = Field(description="open to resolved; null while unresolved")


class TimelineEventRead(ReadModel):
    id: int
    kind: TimelineKind
    actor: str = Field(description='email of the member who acted, or "system"')
    actor_user_id: int | None
    text: str | None
    created_at: UtcDatetime


class IncidentDetail(IncidentRead):
    timeline: list[TimelineEventRead] = Field(description="oldest first")


class IncidentCreate(ApiModel):
    """A manual incident (trigger type `manual`, no target)."""

    title: Name
    severity: Severity
    description: Text | None = None


class IncidentAction(ApiModel):
    """Acknowledge or resolve, with an optional note for the timeline."""

    note: Text | None = None


class NoteCreate(ApiModel):
    text: Text


BulkActionName = Literal["acknowledge", "resolve", "delete"]


class BulkAction(ApiModel):
    ids: list[_ID] = Field(min_length=1, max_length=MAX_BULK_IDS)
    action: BulkActionName
    note: Text | None = None


class BulkOutcome(ReadModel):
    id: int
    ok: bool
    status: IncidentStatus | None = Field(None, description="after the action; null if deleted")
    detail: str | None = Field(None, description="why it failed")


class IncidentStats(ReadModel):
    open: int
    acknowledged: int
    critical_open: int = Field(description="critical and not resolved (open or acknowledged)")
    resolved_today: int = Field(description="resolved since 00:00 UTC")
    mttr_seconds_7d: int | None = Field(
        description="mean time to resolve of incidents resolved in the last 7 days"
    )


IncidentSort = Literal[
    "opened_at", "-opened_at", "resolved_at", "-resolved_at", "severity", "-severity",
    "status", "-status", "title", "-title", "id", "-id",
]  # fmt: skip


class IncidentQuery(PageQuery):
    status: IncidentStatus | None = None
    severity: Severity | None = None
    trigger_type: TriggerType | None = None
    monitor_id: _ID | None = None
    resource_id: _ID | None = None
    agent_id: _ID | None = None
    from_: QueryTime | None = Field(None, alias="from", description="opened at or after")
    to: QueryTime | None = Field(None, description="opened at or before")
    q: str | None = Field(None, max_length=200, description="matches the title")
    sort: IncidentSort = "-opened_at"
