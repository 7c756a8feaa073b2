"""Live events across server processes on any number of machines: one Redis stream.

With UPMETR_REDIS_URL every process publishes through `RedisEventLog` and every API
process follows the stream with a `RedisEventFeed`, which delivers each event to its
MemoryEventBus (fan-out to its streams, and its resume buffer). So an event raised in any
process reaches the streams of every API process, and a Last-Event-ID means the same event
whichever process a client reconnects to.

- Ids: a Lua script (atomic in Redis) takes the next number of a counter and appends the
  event under the stream id `0-<number>`, so the stream's order is the id order, across
  writers, with no gap a reader could skip (a database sequence commits out of order). The
  counter starts at the microsecond clock, as the in-process bus does, so ids after a
  Redis restart are higher than those a client may still hold: its resume is a reset, never
  another event replayed under an old id.
- The stream keeps about KEEP_EVENTS events (MAXLEN ~); a feed loads the newest BACKLOG at
  start, so a client resumes across a restart of the API process it reconnects to.
- A publish never blocks nor raises: events are held in memory and appended in batches by
  the log's loop, kept and retried while Redis cannot be reached.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import cast

import redis.asyncio as aioredis

from server.engines.loop import Loop
from server.events.bus import MemoryEventBus, SerializedEvent, serialize
from shared.api.events import EventData

log = logging.getLogger("upmetr.events")

STREAM = "upmetr:events"
COUNTER = "upmetr:events:last_id"
KEEP_EVENTS = 100_000
BACKLOG = 10_000
BATCH = 500
BLOCK_MS = 1000
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


class RedisEventLog(Loop):
    """The publisher of a process whose events go through Redis."""

    name = "live event log (Redis)"
    retry_seconds = 0.5

    def __init__(self, client: aioredis.Redis) -> None:
        super().__init__()
        self._client = client
        self._append = client.register_script(_APPEND)
        self._held: deque[tuple[int, str, str]] = deque()

    @property
    def pending(self) -> int:
        return len(self._held)

    def publish(self, org_id: int, event: EventData) -> None:
        serialized = serialize(org_id, event)
        if serialized is not None:
            self._held.append((org_id, *serialized))
            self.wake()

    def idle_seconds(self) -> float:
        return 60.0  # a publish wakes it

    async def run_once(self) -> bool:
        if not self._held:
            return False
        count = min(len(self._held), BATCH)
        args: list[str | int] = [KEEP_EVENTS, time.time_ns() // 1000]
        for index in range(count):
            args.extend(self._held[index])
        await self._append(keys=[STREAM, COUNTER], args=args)
        for _ in range(count):
            self._held.popleft()
        return bool(self._held)

    async def stop(self) -> None:
        """End the loop, then append what is held (a few tries)."""
        self._ask_to_stop()
        await self._join(timeout=10)
        for _ in range(3):
            if not self._held:
                break
            try:
                await self.run_once()
            except Exception:
                log.exception("appending live events to Redis failed while stopping")
        if self._held:
            log.error("stopping with %d live events not sent to Redis", len(self._held))


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
