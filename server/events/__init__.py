"""Live events: what happened in an organization, pushed to its subscribers (SSE).

`EventPublisher` is the one interface the rest of the server uses to emit an event, so the
in-process bus can later be replaced by a Redis one without touching the domains.
"""

from __future__ import annotations

from typing import Protocol

from shared.api.events import EventData


class EventPublisher(Protocol):
    def publish(self, org_id: int, event: EventData) -> None:
        """Hand an event to subscribers of `org_id`; never blocks, never raises."""
