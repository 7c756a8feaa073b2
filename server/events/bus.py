"""The event bus: each organization's live events, buffered for resume, fanned out to streams.

`EventBus` is the whole interface the `/events` handler and the composition root use
(`publish`, `subscribe`, `close`), so a Redis implementation (pub/sub for fan-out, a capped
stream per organization for resume) can replace `MemoryEventBus` without touching domains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from aiohttp import web

from server.events import EventPublisher
from shared.api.events import EventData, StreamReset

log = logging.getLogger("upmetr.events")

# A check-writer batch publishes up to `check_batch_size` (1,000) events at once: a stream's
# queue holds two such bursts, so a console keeping up is never dropped by one, and the
# buffer holds a dropped stream's backlog so that it resumes without a reset.
BUFFER_SIZE = 4096  # events kept per organization for Last-Event-ID resume
QUEUE_SIZE = 2048  # events waiting per stream before it is dropped as too slow


@dataclass(frozen=True, slots=True)
class SerializedEvent:
    id: int
    type: str
    data_json: str  # serialized once at publish, shared by every stream


class Subscription(Protocol):
    """One stream's view of an organization's events."""

    @property
    def position(self) -> int:
        """The id of the organization's newest event when the subscription started."""

    async def next(self) -> SerializedEvent | None:
        """The next event to send (a replay first, then live ones); None once it has ended."""

    def close(self) -> None:
        """Stop receiving; idempotent."""


class EventBus(EventPublisher, Protocol):
    def subscribe(self, org_id: int, *, after: int | None) -> Subscription:
        """Live events of `org_id`; with `after`, first those buffered after that id.

        An `after` the bus cannot resume from (evicted, or from an earlier process) yields
        one `stream.reset` event first, so the client knows to re-read its state.
        """

    def on_event(self, listener: Callable[[int, str], None]) -> None:
        """Call `listener(org_id, event_type)` for every event this process delivers (caches
        of what events change listen, such as rendered status pages); it must not raise."""

    def close(self) -> None:
        """End every subscription (server shutdown); their streams finish what they hold."""

    def subscriber_count(self, org_id: int | None = None) -> int:
        """Open subscriptions, of one organization or of all."""


_END: Final = object()  # wakes a subscriber waiting on an empty queue when it is closed


class _Subscriber:
    def __init__(
        self, org: _Org, backlog: list[SerializedEvent], queue_size: int, position: int
    ) -> None:
        self._org = org
        self._backlog = deque(backlog)
        self._queue: asyncio.Queue[SerializedEvent | object] = asyncio.Queue(queue_size)
        self._closed = False
        self.position = position

    async def next(self) -> SerializedEvent | None:
        if self._backlog:
            return self._backlog.popleft()
        if self._closed and self._queue.empty():
            return None
        item = await self._queue.get()
        return item if isinstance(item, SerializedEvent) else None

    def close(self) -> None:
        self._org.subscribers.discard(self)
        self._end()

    def offer(self, event: SerializedEvent) -> bool:
        """False when the queue is full: the caller drops this subscriber."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def _end(self) -> None:
        if self._closed:
            return
        self._closed = True
        # A full queue means the reader is not waiting; it drains the queue, then ends.
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_END)


@dataclass(eq=False)
class _Org:
    # Ids start at the microsecond clock, so ids issued by an earlier process are lower than
    # any of this one's and a resume from them is a reset, never a replay of other events.
    last_id: int
    horizon: int  # events with an id up to this one may be missing from the buffer
    buffer: deque[SerializedEvent]
    subscribers: set[_Subscriber] = field(default_factory=set)


def serialize(org_id: int, event: EventData) -> tuple[str, str] | None:
    """The event's type and data as sent, or None (logged) when it cannot be sent: data
    that cannot be serialized, or a type with a line break (it would split the SSE frame)."""
    try:
        name = event.event_type
        if "\n" in name or "\r" in name:
            raise ValueError("event type contains a line break")
        return name, event.wire_json()
    except Exception:  # whatever a domain hands over, publishing must not fail its caller
        shown = getattr(event, "event_type", type(event).__name__)
        log.exception("live event %r of org %s dropped: cannot be sent", shown, org_id)
        return None


class MemoryEventBus:
    """The fan-out to streams, and the resume buffer, of one server process.

    It numbers events itself (`publish`, when the API and the engines share one process),
    or it is fed events numbered by the database's event log (`follow`, then `deliver`,
    by server/events/log.py's EventFeed), so ids are one sequence across processes.

    publish(org_id, event):
      1. Serialize the event's data to JSON once; one that cannot be serialized, or a type
         with a line break (it would split the SSE frame), is logged and dropped: publish
         never raises.
      2. Give the event the organization's next id (ids only increase within an organization).
      3. Append it to the organization's ring buffer (`buffer_size` events); when that evicts
         an event, the evicted id becomes the horizon below which a resume is impossible.
      4. Offer it to every subscriber's bounded queue without waiting. A full queue means a
         reader that cannot keep up: it is dropped (it ends after sending what it holds, and
         its client reconnects and resumes from the buffer), so a slow reader never blocks
         publishers nor grows memory.

    subscribe(org_id, after):
      1. Register the subscriber and take the replay in the same step (no await between), so
         no event falls between the replay and the live queue, and none arrives twice.
      2. Without `after`: live events only; `position` tells the client where it starts.
      3. `after` below the horizon or above the newest id: one `stream.reset` event whose id
         is the newest id, then live events.
      4. Otherwise: the buffered events with an id above `after`, then live events.
    """

    def __init__(self, *, buffer_size: int = BUFFER_SIZE, queue_size: int = QUEUE_SIZE) -> None:
        self._buffer_size = buffer_size
        self._queue_size = queue_size
        self._orgs: dict[int, _Org] = {}
        self._closed = False
        # Fed by the event log: ids are global, and `_position` is the newest one delivered.
        self._fed = False
        self._position = 0
        self._horizon = 0
        self._listeners: list[Callable[[int, str], None]] = []

    def on_event(self, listener: Callable[[int, str], None]) -> None:
        self._listeners.append(listener)

    def follow(self, horizon: int) -> None:
        """From now on events come numbered through `deliver`; those up to `horizon` (the
        log's position when this process began following it) are not buffered here."""
        self._fed = True
        self._position = self._horizon = max(self._position, horizon)

    def publish(self, org_id: int, event: EventData) -> None:
        serialized = serialize(org_id, event)
        if serialized is None:
            return
        org = self._org(org_id)
        self.deliver(org_id, SerializedEvent(org.last_id + 1, *serialized))

    def deliver(self, org_id: int, sent: SerializedEvent) -> None:
        """Buffer an event numbered already and offer it to the organization's streams."""
        org = self._org(org_id)
        org.last_id = sent.id
        self._position = max(self._position, sent.id)
        if len(org.buffer) == org.buffer.maxlen:
            org.horizon = org.buffer[0].id
        org.buffer.append(sent)
        for listener in self._listeners:
            listener(org_id, sent.type)
        for subscriber in list(org.subscribers):
            if not subscriber.offer(sent):
                log.info("live event stream of org %s dropped: it fell behind", org_id)
                subscriber.close()

    def subscribe(self, org_id: int, *, after: int | None) -> _Subscriber:
        org = self._org(org_id)
        # Fed ids are global: any id up to the newest delivered is a resume point.
        newest = self._position if self._fed else org.last_id
        if after is None:
            backlog = []
        elif after < org.horizon or after > newest:
            reason = "resume point no longer buffered" if after < org.horizon else "unknown"
            reset = StreamReset(reason=reason, last_event_id=newest)
            backlog = [SerializedEvent(newest, reset.event_type, reset.wire_json())]
        else:
            backlog = [event for event in org.buffer if event.id > after]
        subscriber = _Subscriber(org, backlog, self._queue_size, newest)
        if self._closed:
            subscriber.close()
        else:
            org.subscribers.add(subscriber)
        return subscriber

    def close(self) -> None:
        self._closed = True
        for org in self._orgs.values():
            for subscriber in list(org.subscribers):
                subscriber.close()

    def subscriber_count(self, org_id: int | None = None) -> int:
        orgs = self._orgs.values() if org_id is None else [self._orgs.get(org_id)]
        return sum(len(org.subscribers) for org in orgs if org is not None)

    def _org(self, org_id: int) -> _Org:
        org = self._orgs.get(org_id)
        if org is None:
            if self._fed:  # everything since the horizon was delivered; none was this org's
                last, horizon = self._position, self._horizon
            else:
                last = horizon = time.time_ns() // 1000
            org = _Org(last_id=last, horizon=horizon, buffer=deque(maxlen=self._buffer_size))
            self._orgs[org_id] = org
        return org


EVENT_BUS: web.AppKey[EventBus] = web.AppKey("event_bus")
