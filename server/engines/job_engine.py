"""What the job engines share: claim queued jobs of one kind, run them under a lease, and
queue the scheduled ones. A kind's engine says what a job does and which jobs are due.

The job runner always runs (a 202 promises the job runs); the schedule only when engines
are on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.context import EVENTS, KEYS, SESSIONS, SETTINGS
from server.db.base import utcnow
from server.engines.loop import Loop, Wakeable
from server.events import EventPublisher
from server.jobs import service as jobs
from server.jobs.models import Job
from server.keys import Keys
from shared.api.jobs import JobKind


class JobEngine(Loop):
    """run_once():
    1. With engines on, every `schedule_seconds`, queue the jobs that are due (queue_due).
    2. While fewer than `max_running` jobs run here, claim the oldest claimable job of
       `kind` and start it; True when one was started (look again at once).
    3. A started job runs `perform(job)` while its lease is renewed every third of
       jobs.LEASE, so no other runner claims it.
    4. An exception fails the job with its message as the detail, unless the job was
       deleted meanwhile. A cancelled job (stop) is left running: its lease lapses and it
       is claimed again.
    5. A finished job frees its slot and wakes the loop.
    """

    kind: ClassVar[JobKind]
    label: ClassVar[str]  # "discovery": in log lines, task names and failure details
    max_running: ClassVar[int]
    schedule_seconds: ClassVar[float]

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventPublisher,
        settings: Settings,
        keys: Keys,
        *,
        schedule: bool,
        poll_seconds: float = 5.0,
        schedule_seconds: float | None = None,
        max_running: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__()
        self.name = self.kind.value
        self.retry_seconds = poll_seconds
        self._sessions = sessions
        self._events = events
        self._settings = settings
        self._keys = keys
        self._schedule = schedule
        self._poll_seconds = poll_seconds
        self._schedule_seconds = (
            self.schedule_seconds if schedule_seconds is None else schedule_seconds
        )
        self._max_running = self.max_running if max_running is None else max_running
        self._clock = clock
        self._log = logging.getLogger(f"upmetr.engines.{self.kind.value}")
        self._running: set[asyncio.Task[None]] = set()
        self._next_schedule: datetime | None = None

    async def perform(self, job: Job) -> None:
        """Run a claimed job to its end (the kind's domain decides what that means)."""
        raise NotImplementedError

    async def queue_due(self, *, now: datetime) -> int:
        """Queue the jobs the schedule says are due; how many were queued."""
        raise NotImplementedError

    def idle_seconds(self) -> float:
        """A queued job wakes the loop (wake(): in this process, or over the wake-up socket
        from the API process); the poll finds jobs queued by a process that could not."""
        return self._poll_seconds

    async def run_once(self) -> bool:
        now = self._clock()
        if self._schedule and (self._next_schedule is None or now >= self._next_schedule):
            self._next_schedule = now + timedelta(seconds=self._schedule_seconds)
            await self.queue_due(now=now)
        if len(self._running) >= self._max_running:
            return False
        async with self._sessions() as db, db.begin():
            job = await jobs.claim(db, kind=self.kind, now=now)
        if job is None:
            return False
        jobs.publish(self._events, job)
        task = asyncio.create_task(self._execute(job), name=f"{self.label} job {job.id}")
        self._running.add(task)
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self.wake()  # a slot is free

    async def _execute(self, job: Job) -> None:
        beat = asyncio.create_task(self._heartbeat(job.id), name=f"{self.label} job {job.id} lease")
        try:
            await self.perform(job)
        except asyncio.CancelledError:
            raise  # stopping: the lease lapses and the job is claimed again
        except Exception as exc:
            self._log.exception("%s job %s failed", self.label, job.id)
            with contextlib.suppress(Exception):
                await self._fail(job, f"{self.label.capitalize()} failed: {exc}")
        finally:
            beat.cancel()

    async def _heartbeat(self, job_id: int) -> None:
        """Renew the job's lease while it runs, so no other runner claims it."""
        while True:
            await asyncio.sleep(jobs.LEASE.total_seconds() / 3)
            with contextlib.suppress(Exception):
                async with self._sessions() as db, db.begin():
                    await jobs.extend(db, job_id=job_id, now=self._clock())

    async def _fail(self, job: Job, detail: str) -> None:
        async with self._sessions() as db, db.begin():
            if await db.get(Job, job.id) is None:
                return  # deleted with its account meanwhile
            failed = await jobs.finish(db, job_id=job.id, succeeded=False, detail=detail)
        jobs.publish(self._events, failed)

    async def stop(self) -> None:
        """End run() and the jobs running here; their leases lapse and they run again."""
        self._ask_to_stop()
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self._join()


E = TypeVar("E", bound=JobEngine)


def build(app: web.Application, engine_type: type[E], key: web.AppKey[Wakeable]) -> E:
    """The engine for the app, kept on it under `key` so requests can wake it."""
    settings = app[SETTINGS]
    engine = engine_type(app[SESSIONS], app[EVENTS], settings, app[KEYS], schedule=settings.engines)
    app[key] = engine  # type: ignore[misc]  # an E is a Wakeable; mypy cannot infer it
    return engine
