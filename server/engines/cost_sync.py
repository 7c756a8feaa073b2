"""The cost sync engine: runs queued cost sync jobs, and queues each organization's daily sync.

The job runner always runs (a 202 promises the job runs); the daily schedule only when
engines are on. What a sync does is decided in server/costs/sync.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.cloud_accounts.models import CloudAccount
from server.config import Settings
from server.context import EVENTS, KEYS, SESSIONS, SETTINGS
from server.costs import sync
from server.events import EventPublisher
from server.jobs import service as jobs
from server.jobs.models import Job
from server.keys import Keys
from shared.api.jobs import JobKind

log = logging.getLogger("upmetr.engines.cost_sync")

# Cost Explorer refreshes its data about three times a day; a daily sync keeps figures
# fresh at 60 billed requests a month or so per account.
# https://docs.aws.amazon.com/cost-management/latest/userguide/ce-exploring-data.html
SYNC_EVERY = timedelta(hours=24)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CostSyncEngine:
    name = "cost_sync"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventPublisher,
        settings: Settings,
        keys: Keys,
        *,
        schedule: bool,
        poll_seconds: float = 5.0,
        schedule_seconds: float = 600.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._settings = settings
        self._keys = keys
        self._schedule = schedule
        self._poll_seconds = poll_seconds
        self._schedule_seconds = schedule_seconds
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._next_schedule: datetime | None = None
        self._current: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    async def run_once(self) -> bool:
        """1. With engines on, every `schedule_seconds`, queue the daily syncs that are due.
        2. Claim the oldest claimable cost sync job and run it to its end (one at a time:
           Cost Explorer throttles per account, and a job walks its accounts in turn);
           True when one ran (look again at once)."""
        now = self._clock()
        if self._schedule and (self._next_schedule is None or now >= self._next_schedule):
            self._next_schedule = now + timedelta(seconds=self._schedule_seconds)
            await self.queue_due(now=now)
        async with self._sessions() as db, db.begin():
            job = await jobs.claim(db, kind=JobKind.cost_sync, now=now)
        if job is None:
            return False
        jobs.publish(self._events, job)
        self._current = asyncio.create_task(self._execute(job), name=f"cost sync job {job.id}")
        try:
            await self._current
        finally:
            self._current = None
        return True

    async def _heartbeat(self, job_id: int) -> None:
        """Renew the job's lease while it runs, so no other runner claims it."""
        while True:
            await asyncio.sleep(jobs.LEASE.total_seconds() / 3)
            with contextlib.suppress(Exception):
                async with self._sessions() as db, db.begin():
                    await jobs.extend(db, job_id=job_id, now=self._clock())

    async def _execute(self, job: Job) -> None:
        beat = asyncio.create_task(self._heartbeat(job.id), name=f"cost sync job {job.id} lease")
        try:
            await sync.run_job(
                self._sessions, self._events, self._settings, self._keys, job, clock=self._clock
            )
        except asyncio.CancelledError:
            raise  # stopping: the lease lapses and the job is claimed again
        except Exception as exc:
            log.exception("cost sync job %s failed", job.id)
            with contextlib.suppress(Exception):
                async with self._sessions() as db, db.begin():
                    if await db.get(Job, job.id) is None:
                        return
                    failed = await jobs.finish(
                        db, job_id=job.id, succeeded=False, detail=f"Cost sync failed: {exc}"
                    )
                jobs.publish(self._events, failed)
        finally:
            beat.cancel()

    async def queue_due(self, *, now: datetime) -> int:
        """Queue a sync of every organization with AWS accounts whose last cost sync job
        is older than SYNC_EVERY (or that never had one)."""
        queued = 0
        async with self._sessions() as db, db.begin():
            last_job = (
                select(Job.org_id, func.max(Job.created_at).label("at"))
                .where(Job.kind == JobKind.cost_sync.value)
                .group_by(Job.org_id)
                .subquery()
            )
            rows = await db.execute(
                select(CloudAccount.org_id, func.max(last_job.c.at))
                .outerjoin(last_job, last_job.c.org_id == CloudAccount.org_id)
                .where(CloudAccount.provider == "aws")
                .group_by(CloudAccount.org_id)
            )
            for org_id, last_at in rows.all():
                if last_at is not None:
                    last_at = last_at if last_at.tzinfo else last_at.replace(tzinfo=UTC)
                    if now - last_at < SYNC_EVERY:
                        continue
                job, new = await jobs.enqueue(db, org_id=org_id, kind=JobKind.cost_sync)
                if new:
                    queued += 1
                    self._events.publish(org_id, jobs.JOB_UPDATED, jobs.event_data(job))
        return queued

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("cost sync step failed; retrying in %.0f s", self._poll_seconds)
                busy = False
            if busy:
                await asyncio.sleep(0)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)

    async def stop(self) -> None:
        """End run(); a job running here is cancelled, its lease lapses and it runs again."""
        self._stopping.set()
        self._wake.set()
        if self._current is not None:
            self._current.cancel()


COST_SYNC_ENGINE: web.AppKey[CostSyncEngine] = web.AppKey("cost_sync_engine")


def build(app: web.Application) -> CostSyncEngine:
    """The engine for the app, kept on it so requests can wake it."""
    settings = app[SETTINGS]
    engine = CostSyncEngine(
        app[SESSIONS], app[EVENTS], settings, app[KEYS], schedule=settings.engines
    )
    app[COST_SYNC_ENGINE] = engine
    return engine
