"""Live events across processes: the database numbers them, the API process streams them.

When the API and the worker run as processes of their own (`upmetr serve`, `upmetr up`),
an event raised in the worker (a check, an incident a check opened, a job's progress) must
reach the streams of the API process, and a client's Last-Event-ID must mean the same
event whichever process raised it. So:

- `EventLog` is the publisher of every process. A service's outbox (`Context.log_events`)
  and the check writer, which make the events that matter (incidents, monitor states),
  append theirs in the transaction that made them (`publish_in`): they commit with what
  they tell or not at all, so a crash right after a commit loses none. Everything else
  (a job's progress, discovery's changes) goes through `publish`, which serializes the
  event and holds it in memory (it never blocks nor raises); the log's loop appends what
  is held in one transaction per batch (a failed write is kept and retried). Either way
  `written` is called after the commit (it wakes the local feed and, over the wake-up
  socket or Redis, the other processes'). The table's integer id is the event id. It
  keeps the newest KEEP_EVENTS rows and prunes the rest once a minute.
- `EventFeed` runs in the API process: it reads the rows after the last one it read, in id
  order, and delivers them to the process's MemoryEventBus, which fans them out to the
  streams and keeps the resume buffer. It reads when woken and every `poll_seconds`, so a
  lost wake-up delays events by at most that. At start it loads the newest BACKLOG rows
  into the buffer, so a client resumes across a restart of the API process.

SQLite commits one writer at a time, and an id is taken inside the writing transaction,
so rows become visible in id order and reading "after the last id" misses none. A
database whose ids can commit out of order (PostgreSQL sequences) needs another feed: with
UPMETR_REDIS_URL, the log is an outbox that a relay empties into a Redis stream, which the
API processes follow instead (server/events/redis_stream.py).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import Table, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import SessionMaker
from server.engines.loop import Loop
from server.events import EventPublisher
from server.events.bus import MemoryEventBus, SerializedEvent, serialize
from server.events.models import LiveEvent
from shared.api.events import EventData

log = logging.getLogger("upmetr.events")

BATCH = 2000  # rows per write and per read
KEEP_EVENTS = 100_000  # rows kept for resume: some 5 minutes of 10,000 monitors at 60 s
PRUNE_SECONDS = 60.0
BACKLOG = 10_000  # rows the feed loads at start
STOP_ATTEMPTS = 3

_table: Table = LiveEvent.__table__  # type: ignore[assignment]

# Built once: every agent post appends to the log, and the feed reads it after each.
_INSERT = insert(_table)
_AFTER = (
    select(_table.c.id, _table.c.org_id, _table.c.type, _table.c.data)
    .where(_table.c.id > bindparam("after"))
    .order_by(_table.c.id)
    .limit(BATCH)
)


class EventLog(Loop):
    name = "live event log"
    retry_seconds = 0.5

    def __init__(
        self,
        sessions: SessionMaker,
        *,
        written: Callable[[], None] = lambda: None,
        relayed: bool = True,
    ):
        """`relayed=False` with Redis: the rows wait for a relay to the stream."""
        super().__init__()
        self._sessions = sessions
        self._written = written
        self._relayed_at_ms: int | None = 0 if relayed else None
        self._held: deque[dict[str, object]] = deque()
        self._pruned_at = time.monotonic()

    @property
    def pending(self) -> int:
        return len(self._held)

    def publish(self, org_id: int, event: EventData) -> None:
        row = _row(org_id, event, self._relayed_at_ms)
        if row is not None:
            self._held.append(row)
            self.wake()

    async def append_in(self, db: AsyncSession, events: list[tuple[int, EventData]]) -> None:
        """Append events in the caller's transaction, so they commit with what they tell
        (the check writer's results); call `committed()` once it has committed."""
        rows = [
            row
            for org_id, event in events
            if (row := _row(org_id, event, self._relayed_at_ms)) is not None
        ]
        for start in range(0, len(rows), BATCH):
            await db.execute(_INSERT, rows[start : start + BATCH])

    def committed(self) -> None:
        """Events appended in a transaction have committed: streams may read them."""
        self._written()

    def idle_seconds(self) -> float:
        return PRUNE_SECONDS  # a publish wakes it

    async def run_once(self) -> bool:
        """Write one batch of what is held (kept for a retry when the write fails); every
        PRUNE_SECONDS, delete all but the newest KEEP_EVENTS rows (most rows come from the
        check writer's transactions, so pruning cannot wait for this loop's own writes)."""
        if time.monotonic() - self._pruned_at >= PRUNE_SECONDS:
            async with self._sessions() as db, db.begin():
                newest = select(func.max(_table.c.id)).scalar_subquery()
                await db.execute(delete(_table).where(_table.c.id <= newest - KEEP_EVENTS))
            self._pruned_at = time.monotonic()
        if not self._held:
            return False
        count = min(len(self._held), BATCH)
        rows = [self._held[index] for index in range(count)]
        async with self._sessions() as db, db.begin():
            await db.execute(_INSERT, rows)
        for _ in range(count):
            self._held.popleft()
        self._written()
        return bool(self._held)

    async def stop(self) -> None:
        """End the loop, then write what is held; give up (saying how many events are lost)
        after STOP_ATTEMPTS failed writes."""
        self._ask_to_stop()
        await self._join(timeout=10)
        failures = 0
        while self._held and failures < STOP_ATTEMPTS:
            try:
                await self.run_once()
            except Exception:
                failures += 1
                log.exception("writing live events failed while stopping")
        if self._held:
            log.error("stopping with %d live events unwritten", len(self._held))


def _row(org_id: int, event: EventData, relayed_at_ms: int | None) -> dict[str, object] | None:
    serialized = serialize(org_id, event)
    if serialized is None:
        return None
    return {
        "org_id": org_id,
        "type": serialized[0],
        "data": serialized[1],
        "relayed_at_ms": relayed_at_ms,
    }


async def publish_in(
    db: AsyncSession, publisher: EventPublisher, events: list[tuple[int, EventData]]
) -> EventLog | None:
    """Append `events` in `db`'s transaction when `publisher` is the event log, and return
    it (tell it `committed()` after the commit); None when it is not (the caller publishes
    them after its commit)."""
    if not isinstance(publisher, EventLog):
        return None
    await publisher.append_in(db, events)
    return publisher


class EventFeed(Loop):
    name = "live event feed"
    retry_seconds = 1.0

    def __init__(self, sessions: SessionMaker, bus: MemoryEventBus, *, poll_seconds: float = 0.5):
        super().__init__()
        self._sessions = sessions
        self._bus = bus
        self._poll_seconds = poll_seconds
        self._after: int | None = None

    def idle_seconds(self) -> float:
        return self._poll_seconds

    async def start(self) -> None:
        """Load the backlog before the first request can subscribe, then follow the log."""
        async with self._sessions() as db:
            newest = await db.scalar(select(func.max(_table.c.id)))
        horizon = max(0, (newest or 0) - BACKLOG)
        self._bus.follow(horizon)
        self._after = horizon
        while await self.run_once():
            pass
        await super().start()

    async def run_once(self) -> bool:
        """Deliver the rows after the last one read, in id order; True when a whole batch
        came (more may wait)."""
        async with self._sessions() as db:
            rows = (await db.execute(_AFTER, {"after": self._after or 0})).all()
        for event_id, org_id, event_type, data in rows:
            self._bus.deliver(org_id, SerializedEvent(event_id, event_type, data))
        if rows:
            self._after = rows[-1][0]
        return len(rows) == BATCH
