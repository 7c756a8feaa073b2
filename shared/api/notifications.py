"""Notifications: channels that carry events out, routing rules that pick them, the
delivery log, and each member's in-app inbox."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from shared.api.common import ApiModel, Name, PageQuery, ReadModel, UpdateModel, UtcDatetime
from shared.api.incidents import Severity


class ChannelType(StrEnum):
    email = "email"
    slack = "slack"
    discord = "discord"
    teams = "teams"
    webhook = "webhook"
    pagerduty = "pagerduty"
    telegram = "telegram"
    twilio = "twilio"
    clickup = "clickup"
    apprise = "apprise"


class EventType(StrEnum):
    """What a routing rule can pick (`budget.*` picks every budget event)."""

    incident_opened = "incident.opened"
    incident_acknowledged = "incident.acknowledged"
    incident_resolved = "incident.resolved"
    incident_escalated = "incident.escalated"
    budget_threshold = "budget.threshold"
    budget_exceeded = "budget.exceeded"
    agent_offline = "agent.offline"
    agent_online = "agent.online"
    ssl_expiring = "ssl.expiring"
    channel_disabled = "channel.disabled"


EVENT_TYPES = frozenset(event.value for event in EventType)
_FAMILIES = frozenset(event.split(".")[0] for event in EVENT_TYPES)
_EVENT_PATTERN = r"^(\*|[a-z]+\.(\*|[a-z_]+))$"


def _known_event(value: str) -> str:
    family, _, name = value.partition(".")
    if value == "*" or value in EVENT_TYPES or (name == "*" and family in _FAMILIES):
        return value
    raise ValueError(
        f"{value!r} is not an event; use one of {', '.join(sorted(EVENT_TYPES))}, "
        "a family such as budget.*, or *"
    )


EventPattern = Annotated[
    str, Field(pattern=_EVENT_PATTERN, max_length=64), AfterValidator(_known_event)
]


def event_matches(pattern: str, event_type: str) -> bool:
    """`budget.*` matches `budget.exceeded`; `*` matches everything."""
    if pattern == "*" or pattern == event_type:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


ChannelIds = Annotated[list[int], Field(max_length=20)]
ChannelConfig = Annotated[
    dict[str, Any],
    Field(
        description="The type's settings (docs/channels.md). Secret keys (webhook URLs, "
        "tokens, keys) are write-only: reads show a masked hint like `****ab12`. On PATCH, "
        "a secret left out keeps its stored value."
    ),
]


class ChannelCreate(ApiModel):
    name: Name
    type: ChannelType
    config: ChannelConfig
    enabled: bool = True


class ChannelUpdate(UpdateModel):
    """Every field optional. `config` is merged into the stored one; enabling a channel
    that a permanent error disabled clears its `last_error`."""

    not_null = frozenset({"name", "config", "enabled"})

    name: Name | None = None
    config: ChannelConfig | None = None
    enabled: bool | None = None


class ChannelRead(ReadModel):
    id: int
    name: str
    type: ChannelType
    config: dict[str, Any] = Field(description="Secrets masked (`****ab12`), never the value.")
    enabled: bool
    last_error: str | None
    last_error_at: UtcDatetime | None
    last_delivered_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ChannelTestResult(ReadModel):
    """What one test message to a channel came to, sent at once (not through the outbox)."""

    ok: bool
    status_code: int | None
    detail: str | None = Field(description="The vendor's answer, or why it failed.")
    permanent: bool = Field(description="A failure a retry would not fix (a revoked webhook).")
    duration_ms: float


class RuleCreate(ApiModel):
    name: Name
    events: list[EventPattern] = Field(min_length=1, max_length=20)
    min_severity: Severity = Severity.info
    channel_ids: ChannelIds = Field(min_length=1)
    enabled: bool = True
    escalate_after_minutes: int | None = Field(None, ge=1, le=10080)
    escalation_channel_ids: ChannelIds = []


class RuleUpdate(UpdateModel):
    not_null = frozenset(
        {"name", "events", "min_severity", "channel_ids", "enabled", "escalation_channel_ids"}
    )

    name: Name | None = None
    events: list[EventPattern] | None = Field(None, min_length=1, max_length=20)
    min_severity: Severity | None = None
    channel_ids: ChannelIds | None = Field(None, min_length=1)
    enabled: bool | None = None
    escalate_after_minutes: int | None = Field(None, ge=1, le=10080)
    escalation_channel_ids: ChannelIds | None = None


class RuleRead(ReadModel):
    id: int
    name: str
    events: list[str]
    min_severity: Severity
    channel_ids: list[int]
    enabled: bool
    escalate_after_minutes: int | None
    escalation_channel_ids: list[int]
    created_at: UtcDatetime
    updated_at: UtcDatetime


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its first attempt or its next retry
    delivered = "delivered"
    failed = "failed"  # gave up: a permanent error, or every retry spent
    cancelled = "cancelled"  # an escalation the acknowledgement made needless


class AttemptRead(ReadModel):
    attempted_at: UtcDatetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryRead(ReadModel):
    id: int
    channel_id: int | None = Field(description="Null once the channel was deleted.")
    channel_name: str
    channel_type: ChannelType
    event_id: int
    event_type: str
    title: str
    severity: Severity
    incident_id: int | None
    escalation: bool = Field(description="Sent because nobody acknowledged in time.")
    idempotency_id: str = Field(description="The same on every attempt (`webhook-id`).")
    status: DeliveryStatus
    attempts: int
    next_attempt_at: UtcDatetime | None
    last_error: str | None
    last_status_code: int | None
    delivered_at: UtcDatetime | None
    created_at: UtcDatetime
    attempt_log: list[AttemptRead]


class DeliveriesQuery(PageQuery):
    channel_id: int | None = Field(None, ge=1, le=2**63 - 1)
    event: str | None = Field(None, max_length=64, description="An event type (`incident.opened`).")
    status: DeliveryStatus | None = None


class NotificationRead(ReadModel):
    """One line of a member's inbox."""

    id: int
    event_type: str
    title: str
    body: str
    severity: Severity
    incident_id: int | None
    read: bool
    created_at: UtcDatetime


class InboxQuery(PageQuery):
    unread: bool | None = Field(None, description="`true`: only what is not read yet.")


class UnreadCount(ReadModel):
    unread: int
