"""Live events (`GET /events`, Server-Sent Events): the resume query and the event shape."""

from __future__ import annotations

from typing import Any

from pydantic import Field

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


class Event(ReadModel):
    """One live event: `id` increases within an organization; `data` depends on `type`."""

    id: int
    type: str
    data: dict[str, Any] = Field(default_factory=dict)
