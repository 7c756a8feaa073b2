"""Wake-ups between server processes on any number of machines: Redis pub/sub.

The same messages as over the data directory's sockets (server/engines/wakeups.py), on one
channel per role: every worker hears `checks` and the job engines' names (a job is claimed
once from the database, however many workers are woken), every API process hears what is
sent to the API. A wake-up only hastens a poll, so one lost while Redis is away costs a
delay, never a result; sending never blocks and never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from server.engines.wakeups import WakeupChannel

log = logging.getLogger("upmetr.engines.wakeups")
CHANNEL = "upmetr:wake:{role}"


class RedisWakeups(WakeupChannel):
    name = "wake-ups (Redis)"

    def __init__(self, client: aioredis.Redis, role: str) -> None:
        super().__init__()
        self._client = client
        self._channel = CHANNEL.format(role=role)
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name=self.name)
        with contextlib.suppress(TimeoutError):  # Redis away: polls only, until it is back
            async with asyncio.timeout(5):
                await self._subscribed.wait()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.received(str(message["data"]))
            except Exception:
                log.warning("wake-ups from Redis interrupted; listening again in 1 s")
                await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        await self._cancel_tasks()

    def send(self, role: str, message: str) -> None:
        self._run(self._publish(CHANNEL.format(role=role), message))

    async def _publish(self, channel: str, message: str) -> None:
        with contextlib.suppress(Exception):  # Redis away: the receiver's poll finds it
            await self._client.publish(channel, message)
