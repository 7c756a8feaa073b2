"""Notifications: channels that carry events out, routing rules that pick them, the
delivery log, and each member's in-app inbox."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    held = "held"  # a member's email in their quiet hours: part of the digest at their end
    digested = "digested"  # sent in a digest (see the digest's own delivery)
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


# Preferences: what each member is told, where, and when not.

# What a member is emailed without saying otherwise: what needs a person now.
EMAILED_BY_DEFAULT = frozenset(
    {EventType.incident_opened, EventType.incident_escalated, EventType.channel_disabled}
)


class EventChoice(ApiModel):
    in_app: bool = True
    email: bool = False


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (like Europe/Paris)") from None
    return name


# A time of day to the minute, "22:00" (JSON Schema's `time` format wants a UTC offset,
# which a wall-clock time in the member's zone has not).
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["22:00"])]


class QuietHours(ApiModel):
    """Wall-clock times in `timezone`; `end` before `start` runs across midnight. Emails
    held in them arrive as one digest when they end; the inbox is never held."""

    enabled: bool = False
    start: ClockTime = "22:00"
    end: ClockTime = "07:00"
    timezone: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_zone)] = "UTC"
    critical_bypass: bool = Field(False, description="Critical events are emailed at once.")

    @property
    def starts(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def ends(self) -> time:
        return time.fromisoformat(self.end)


# Left out of the inbox by default: their incidents already say it there.
_NOT_IN_APP_BY_DEFAULT = frozenset(
    {EventType.budget_threshold, EventType.budget_exceeded, EventType.ssl_expiring}
)


def default_choices() -> dict[EventType, EventChoice]:
    return {
        event: EventChoice(
            in_app=event not in _NOT_IN_APP_BY_DEFAULT, email=event in EMAILED_BY_DEFAULT
        )
        for event in EventType
    }


# Read for every member on every event (`choice`): built once, never handed out to change.
_DEFAULT_CHOICES = default_choices()
_IN_APP_ONLY = EventChoice()


class Preferences(ApiModel):
    """A member's notification preferences. Events left out keep their defaults: the inbox
    for all but budget.* and ssl.expiring (their incidents are there already), and email for
    incident.opened, incident.escalated and channel.disabled."""

    events: dict[EventType, EventChoice] = Field(default_factory=default_choices)
    min_severity: Severity = Field(Severity.info, description="Below it, nothing is told.")
    quiet_hours: QuietHours = Field(default_factory=QuietHours)

    def choice(self, event_type: str) -> EventChoice:
        """What the member chose for `event_type` (an event with no choice: the inbox)."""
        if event_type not in EVENT_TYPES:
            return _IN_APP_ONLY
        known = EventType(event_type)
        return self.events.get(known) or _DEFAULT_CHOICES[known]

    def completed(self) -> Preferences:
        """Every event type with its choice, the defaults filled in."""
        return self.model_copy(update={"events": {**default_choices(), **self.events}})


class PreferencesChange(UpdateModel, Preferences):
    """A PUT body: the preferences whole, each part left out taking its default; an empty
    body is refused rather than read as "every default"."""

    not_null = frozenset({"events", "min_severity", "quiet_hours"})
