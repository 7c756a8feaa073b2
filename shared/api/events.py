"""Live events (`GET /events`, Server-Sent Events): the resume query and every event type.

Each event type is a model whose `event_type` is the SSE `event:` name; its other fields are
the frame's `data:` JSON object. `event_type` is never serialized (the frame names the type),
so the wire format is `event: monitor.status` + `data: {"monitor_id": 1, ...}`.

`parse_event(type, data)` gives the model of a known type, and `OtherEvent` for a type this
program does not know (or a payload it cannot read): a newer server's events never crash an
older client. Models keep fields they do not declare, so a client relays them unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter

from shared.api.common import ApiModel, ReadModel

# Sent instead of a replay when the requested resume point is no longer buffered (or is
# unknown to this server): events were missed, so the client should re-read what it shows.
STREAM_RESET = "stream.reset"

MAX_EVENT_ID = 2**63 - 1


class EventsQuery(ApiModel):
    last_event_id: int | None = Field(
        None,
        ge=0,
        le=MAX_EVENT_ID,
        description="Resume after this event id; the `Last-Event-ID` header takes precedence.",
    )


def _isoformat(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# Event times as they have always been sent: isoformat with `+00:00`.
EventDatetime = Annotated[datetime, PlainSerializer(_isoformat, return_type=str, when_used="json")]


def _named(*types: str) -> Any:
    """The `event_type` field: the SSE event name, left out of the `data:` JSON."""
    default = types[0] if len(types) == 1 else ...
    return Field(default, exclude=True, description="The SSE `event:` name.")


class EventData(BaseModel):
    """Base of every event's data."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    event_type: str = _named()

    def wire(self) -> dict[str, Any]:
        """The `data:` object as sent: JSON types, without `event_type`, and without fields
        left at their default (an event built without `action_id` is sent without it)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def wire_json(self) -> str:
        """`wire()` as compact JSON: the frame's `data:` line."""
        return self.model_dump_json(exclude_unset=True)


class MonitorChecked(EventData):
    """A check result was recorded (one per check)."""

    event_type: Literal["monitor.check"] = _named("monitor.check")
    monitor_id: int
    name: str
    result_id: int
    status: str = Field(description="The result: up, down, degraded or maintenance.")
    monitor_status: str | None = Field(
        description="The monitor's status after it; null for a check-now of a paused monitor."
    )
    checked_at: EventDatetime
    response_time_ms: int | None
    status_code: int | None
    error: str | None


class MonitorStatusChanged(EventData):
    """A monitor's status changed (a check flipped it, or it was paused or resumed)."""

    event_type: Literal["monitor.status"] = _named("monitor.status")
    monitor_id: int
    name: str
    status: str
    previous_status: str | None


class _MonitorMembership(EventData):
    monitor_id: int
    name: str
    status: str


class MonitorCreated(_MonitorMembership):
    event_type: Literal["monitor.created"] = _named("monitor.created")


class MonitorDeleted(_MonitorMembership):
    event_type: Literal["monitor.deleted"] = _named("monitor.deleted")


class _IncidentFields(EventData):
    id: int
    title: str
    severity: str
    status: str


IncidentChange = Literal[
    "incident.opened", "incident.acknowledged", "incident.resolved", "incident.deleted"
]


class IncidentChanged(_IncidentFields):
    """An incident was opened, acknowledged, resolved or deleted (its state after it)."""

    event_type: IncidentChange = _named(*get_args(IncidentChange))


class IncidentNoteAdded(_IncidentFields):
    event_type: Literal["incident.note"] = _named("incident.note")
    note: str


class JobUpdated(EventData):
    """A background job was queued, progressed or finished."""

    event_type: Literal["job.updated"] = _named("job.updated")
    id: int
    kind: str
    status: str
    account_id: int | None
    progress: dict[str, Any]
    result: dict[str, Any]
    detail: str | None


class CostSynced(EventData):
    """One cloud account's costs were synced (a step of a cost-sync job)."""

    event_type: Literal["cost.synced"] = _named("cost.synced")
    account_id: int
    job_id: int | None
    rows: int
    api_calls: int
    status: str


class ResourceStateChanged(EventData):
    """A cloud resource's state changed (found by discovery, or during an action)."""

    event_type: Literal["resource.state"] = _named("resource.state")
    id: int
    account_id: int
    name: str
    type: str = Field(description="The resource type (ec2_instance, ...).")
    state: str
    previous_state: str | None
    action_id: int | None = Field(None, description="The action that changed it, if one did.")


class ResourceActionFinished(EventData):
    """A resource action (start, stop, ...) ended."""

    event_type: Literal["resource.action"] = _named("resource.action")
    id: int
    resource_id: int
    action: str
    status: str
    detail: str | None


class BudgetStateChanged(EventData):
    """A budget's state changed (ok, warning, exceeded)."""

    event_type: Literal["budget.state"] = _named("budget.state")
    id: int
    name: str
    state: str
    previous_state: str | None
    pct_used: float


class NotificationCreated(EventData):
    """A line was added to a member's inbox (`user_id`'s; other members may ignore it)."""

    event_type: Literal["notification.created"] = _named("notification.created")
    id: int
    user_id: int
    title: str
    severity: str
    notification_type: str = Field(description="The event it tells of (`incident.opened`).")


class AgentStatusChanged(EventData):
    """An agent went online (it reported) or offline (it missed three intervals)."""

    event_type: Literal["agent.status"] = _named("agent.status")
    agent_id: int
    name: str
    status: str
    previous_status: str | None


class AgentMetricsReported(EventData):
    """An agent's newest sample (one per post; spooled samples replayed late are not sent)."""

    event_type: Literal["agent.metrics"] = _named("agent.metrics")
    agent_id: int
    name: str
    ts: EventDatetime
    cpu_pct: float
    mem_pct: float
    disk_pct: float | None = Field(description="the fullest disk's")
    load1: float | None


class StatusPageChanged(EventData):
    """A status page, its monitors or one of its announcements changed (public pages
    rendered before are stale)."""

    event_type: Literal["status_page.changed"] = _named("status_page.changed")
    page_id: int
    page: str = Field(description='"global" or the client page\'s slug')
    change: str = Field(description="updated, deleted, token, announcement")


class StreamReset(EventData):
    """Events were missed (the resume point is no longer buffered): re-read what you show."""

    event_type: Literal["stream.reset"] = _named(STREAM_RESET)
    reason: str
    last_event_id: int


class OtherEvent(EventData):
    """An event of a type this program does not know; its data is kept as extra fields."""

    @classmethod
    def of(cls, event_type: str, data: dict[str, Any]) -> OtherEvent:
        return cls.model_validate({**data, "event_type": event_type})


KnownEvent = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs the Union form to carry the Field
        MonitorChecked,
        MonitorStatusChanged,
        MonitorCreated,
        MonitorDeleted,
        IncidentChanged,
        IncidentNoteAdded,
        JobUpdated,
        CostSynced,
        ResourceStateChanged,
        ResourceActionFinished,
        BudgetStateChanged,
        StatusPageChanged,
        NotificationCreated,
        AgentStatusChanged,
        AgentMetricsReported,
        StreamReset,
    ],
    Field(discriminator="event_type"),
]
# Every event model, read off the union: one list to keep, not two.
EVENT_MODELS: tuple[type[EventData], ...] = get_args(get_args(KnownEvent)[0])

# A known type whose data does not fit (a newer server changed it) falls back too.
AnyEvent = Annotated[Union[KnownEvent, OtherEvent], Field(union_mode="left_to_right")]  # noqa: UP007


def event_types(model: type[EventData]) -> tuple[str, ...]:
    """The SSE names a model stands for (IncidentChanged: four)."""
    return get_args(model.model_fields["event_type"].annotation)


@cache
def known_events() -> TypeAdapter[KnownEvent]:
    """Validates the data of known types only (tests, strict readers)."""
    return TypeAdapter(KnownEvent)


@cache
def _any_events() -> TypeAdapter[AnyEvent]:
    return TypeAdapter(AnyEvent)


def parse_event(event_type: str, data: dict[str, Any]) -> AnyEvent:
    """The model of an event's `(type, data)`; `OtherEvent` when it is not a known one."""
    return _any_events().validate_python({**data, "event_type": event_type})


class Event(ReadModel):
    """One live event: `id` increases within an organization; `data` depends on `type`."""

    id: int
    type: str
    data: AnyEvent

    @classmethod
    def of(cls, id: int, data: AnyEvent) -> Event:
        return cls.model_construct(id=id, type=data.event_type, data=data)
