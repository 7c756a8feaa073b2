"""The batched result writer: checks hand results over and go on; one transaction per batch.

A check never waits on the database (ARCHITECTURE.md, "Data lifecycle"): `put` only
appends to memory. A batch that fails to write (the database locked or gone) is kept and
retried with back-off, so a slow or briefly unavailable database delays results but loses
none; `stop` writes everything still held before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass

from server.db.engine import SessionMaker
from server.events import EventPublisher
from server.events.log import publish_in
from server.monitors import recording
from server.monitors.recording import JudgedCheck

log = logging.getLogger("upmetr.engines.check_writer")

MAX_BACKOFF_SECONDS = 5.0
STOP_ATTEMPTS = 3


@dataclass
class WriterStats:
    written: int = 0
    batches: int = 0
    failures: int = 0
    last_batch_seconds: float = 0.0
    write_seconds: float = 0.0


class ResultWriter:
    """An engine (server/engines/loop.py) with a loop of its own: it waits for a batch to
    fill rather than sleeping between steps, and its stop() writes what is held first."""

    name = "check result writer"

    def __init__(
        self,
        sessions: SessionMaker,
        events: EventPublisher,
        *,
        batch_size: int = 1000,
        flush_seconds: float = 0.5,
    ):
        self._sessions = sessions
        self._events = events
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._held: deque[tuple[JudgedCheck, asyncio.Future[int | None] | None]] = deque()
        self._arrived = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.stats = WriterStats()

    @property
    def pending(self) -> int:
        return len(self._held)

    def put(self, check: JudgedCheck) -> None:
        """Hand a result over; returns at once."""
        self._held.append((check, None))
        self._arrived.set()

    async def put_and_wait(self, check: JudgedCheck) -> int | None:
        """Hand a result over and wait until it is written: its result id (None if the
        monitor was deleted meanwhile). For check-now, where a person waits for the row."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._held.append((check, future))
        self._arrived.set()
        return await future

    async def run(self) -> None:
        """The loop.

        1. Wait for a first result, then up to `flush_seconds` more for the batch to fill
           (less when `batch_size` results are already held).
        2. Write up to `batch_size` results in one transaction (recording.write); after the
           commit, publish their live events and wake those waiting on them.
        3. On failure keep the batch, wait (0.5 s doubling to 5 s) and try again.
        4. Once stopping, write everything held, then return; if the database stays
           unreachable for STOP_ATTEMPTS tries, say how many results are lost and return.
        """
        backoff = 0.5
        failed_in_row = 0
        while True:
            if not self._held:
                if self._stopping:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            if len(self._held) < self._batch_size and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._flush_seconds):
                        while len(self._held) < self._batch_size and not self._stopping:
                            self._arrived.clear()
                            await self._arrived.wait()
            if await self.flush_once():
                backoff, failed_in_row = 0.5, 0
                continue
            failed_in_row += 1
            if self._stopping and failed_in_row >= STOP_ATTEMPTS:
                log.error("stopping with %d check results unwritten", len(self._held))
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def flush_once(self) -> bool:
        """Write one batch of what is held; False when the write failed (kept for a retry)."""
        count = min(len(self._held), self._batch_size)
        batch = [self._held[index] for index in range(count)]
        started = time.perf_counter()
        try:
            async with self._sessions() as db, db.begin():
                written = await recording.write(db, [check for check, _ in batch])
                # Into the event log in this same transaction, when that is the publisher.
                logged = await publish_in(db, self._events, written.events)
        except Exception:
            self.stats.failures += 1
            log.exception("writing %d check results failed; they are kept for a retry", count)
            return False
        for _ in range(count):
            self._held.popleft()
        elapsed = time.perf_counter() - started
        self.stats.written += count
        self.stats.batches += 1
        self.stats.last_batch_seconds = elapsed
        self.stats.write_seconds += elapsed
        if logged is not None:
            logged.committed()
        else:
            for org_id, event in written.events:
                self._events.publish(org_id, event)
        for index, (_, waiter) in enumerate(batch):
            if waiter is not None and not waiter.done():
                waiter.set_result(written.result_ids.get(index))
        return True

    async def run_once(self) -> bool:
        """Write one batch of what is held; True when more is held."""
        return bool(self._held) and await self.flush_once() and bool(self._held)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=self.name)

    def ask_to_stop(self) -> None:
        """Ask `run` to write what it holds and return."""
        self._stopping = True
        self._arrived.set()

    async def stop(self, timeout: float = 30.0) -> None:
        """Write what is held (giving up after `timeout`), then end the loop."""
        self.ask_to_stop()
        task, self._task = self._task, None
        if task is None:
            return
        await asyncio.wait({task}, timeout=timeout)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
