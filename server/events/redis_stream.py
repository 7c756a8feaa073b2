"""Live events across server processes on any number of machines: one Redis stream.

With UPMETR_REDIS_URL every process publishes to the database's event log as without it
(server/events/log.py: in the transaction of what the event tells, when it can), and its
`EventRelay` moves the rows to one Redis stream; every API process follows the stream with
a `RedisEventFeed`, which delivers each event to its MemoryEventBus (fan-out to its
streams, and its resume buffer). So an event raised in any process reaches the streams of
every API process, a Last-Event-ID means the same event whichever process a client
reconnects to, and an event whose transaction committed is not lost with its process.

- Ids: a Lua script (atomic in Redis) takes the next number of a counter and appends the
  event under the stream id `0-<number>`, so the stream's order is the id order, across
  writers, with no gap a reader could skip (a database sequence commits out of order). The
  counter starts at the microsecond clock, as the in-process bus does, so ids after a
  Redis restart are higher than those a client may still hold: its resume is a reset, never
  another event replayed under an old id.
- The stream keeps about KEEP_EVENTS events (MAXLEN ~); a feed loads the newest BACKLOG at
  start, so a client resumes across a restart of the API process it reconnects to.
- While Redis cannot be reached the rows wait in the log and the relay tries again.
"""

from __future__ import annotations

import logging
import time
from typing import cast

import redis.asyncio as aioredis
from sqlalchemy import Table, select, update

from server.db.engine import SessionMaker
from server.engines.loop import Loop
from server.events.bus import MemoryEventBus, SerializedEvent
from server.events.log import BACKLOG, KEEP_EVENTS
from server.events.models import LiveEvent

log = logging.getLogger("upmetr.events")

STREAM = "upmetr:events"
COUNTER = "upmetr:events:last_id"
BATCH = 500
BLOCK_MS = 1000
POLL_SECONDS = 0.5
_log: Table = LiveEvent.__table__  # type: ignore[assignment]
Entries = list[tuple[str, dict[str, str]]]  # (stream id, fields), as decoded

# KEYS: stream, counter. ARGV: maxlen, the clock (microseconds), then org, type, data per event.
_APPEND = """
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[2]) end
local ids = {}
for i = 3, #ARGV, 3 do
  local id = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], string.format('0-%d', id),
             'org', ARGV[i], 'type', ARGV[i + 1], 'data', ARGV[i + 2])
  ids[#ids + 1] = id
end
return ids
"""


class EventRelay(Loop):
    """Moves the event log's rows that wait for Redis to the stream, oldest first.

    Every process runs one. A batch is taken by marking its rows relayed (one UPDATE ...
    RETURNING: on SQLite writers take turns, on PostgreSQL a second relay waits for the
    first and then finds the rows taken), appended to the stream, and the mark commits
    after the append: a relay that fails before it leaves the rows to the next try, here or
    in another process. So an event committed by a process killed right after reaches the
    stream all the same; one killed between the append and the commit is appended twice.
    """

    name = "live event relay (Redis)"
    retry_seconds = 1.0

    def __init__(self, sessions: SessionMaker, client: aioredis.Redis) -> None:
        super().__init__()
        self._sessions = sessions
        self._append = client.register_script(_APPEND)

    def idle_seconds(self) -> float:
        return POLL_SECONDS  # a write in this process wakes it; others' are found by polls

    async def run_once(self) -> bool:
        now_ms = int(time.time() * 1000)
        waiting = (
            select(_log.c.id)
            .where(_log.c.relayed_at_ms.is_(None))
            .order_by(_log.c.id)
            .limit(BATCH)
            .scalar_subquery()
        )
        take = (
            update(_log)
            .where(_log.c.id.in_(waiting), _log.c.relayed_at_ms.is_(None))
            .values(relayed_at_ms=now_ms)
            .returning(_log.c.id, _log.c.org_id, _log.c.type, _log.c.data)
        )
        async with self._sessions() as db, db.begin():
            rows = sorted((await db.execute(take)).all())
            if not rows:
                return False
            args: list[str | int] = [KEEP_EVENTS, time.time_ns() // 1000]
            for _id, org_id, event_type, data in rows:
                args.extend((org_id, event_type, data))
            await self._append(keys=[STREAM, COUNTER], args=args)
        return len(rows) == BATCH


class RedisEventFeed(Loop):
    """Follows the stream and delivers each event to this API process's bus."""

    name = "live event feed (Redis)"
    retry_seconds = 1.0

    def __init__(self, client: aioredis.Redis, bus: MemoryEventBus) -> None:
        super().__init__()
        self._client = client
        self._bus = bus
        self._after = "0-0"

    def idle_seconds(self) -> float:
        return 0.0  # each step waits in XREAD itself

    async def start(self) -> None:
        """Load the backlog before the first request can subscribe, then follow."""
        newest = cast(Entries, await self._client.xrevrange(STREAM, count=BACKLOG))
        oldest = _number(newest[-1][0]) - 1 if newest else await self._counter()
        self._bus.follow(oldest)
        self._deliver(list(reversed(newest)))
        if not newest:
            self._after = f"0-{oldest}"
        await super().start()

    async def _counter(self) -> int:
        """The newest id given (started at the clock when none was given yet)."""
        await self._client.set(COUNTER, time.time_ns() // 1000, nx=True)
        return int(await self._client.get(COUNTER) or 0)

    async def run_once(self) -> bool:
        found = await self._client.xread({STREAM: self._after}, count=BATCH, block=BLOCK_MS)
        for _stream, entries in cast(list[tuple[str, Entries]], found or []):
            self._deliver(entries)
        return bool(found)

    def _deliver(self, entries: Entries) -> None:
        for entry_id, fields in entries:
            event = SerializedEvent(_number(entry_id), fields["type"], fields["data"])
            self._bus.deliver(int(fields["org"]), event)
            self._after = entry_id


def _number(entry_id: str) -> int:
    """The event id of a stream entry `0-<id>`."""
    return int(entry_id.split("-", 1)[1])
