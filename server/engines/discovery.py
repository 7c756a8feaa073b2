"""The discovery engine: runs queued discovery jobs, and queues the organizations' scheduled runs.

The job runner always runs (a 202 promises the job runs); the schedule only when engines are
on. What a run does is decided in server/cloud_accounts/discovery.py.
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

from server.cloud_accounts.discovery import Run, heartbeat
from server.cloud_accounts.models import CloudAccount
from server.config import Settings
from server.events import EventPublisher
from server.jobs import service as jobs
from server.jobs.models import Job
from server.keys import Keys
from server.orgs.models import Organization
from server.orgs.service import settings_of
from shared.api.cloud_accounts import AccountStatus
from shared.api.jobs import JobKind

log = logging.getLogger("upmetr.engines.discovery")

INTERVALS = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "12h": timedelta(hours=12),
    "24h": timedelta(hours=24),
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DiscoveryEngine:
    name = "discovery"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventPublisher,
        settings: Settings,
        keys: Keys,
        *,
        schedule: bool,
        poll_seconds: float = 5.0,
        schedule_seconds: float = 60.0,
        max_running: int = 2,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._schedule = schedule
        self._poll_seconds = poll_seconds
        self._schedule_seconds = schedule_seconds
        self._max_running = max_running
        self._clock = clock
        self._run = Run(sessions, events, settings, keys, clock)
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._next_schedule: datetime | None = None

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    async def run_once(self) -> bool:
        """1. With engines on, once a minute, queue the runs that are due (queue_due).
        2. While fewer than `max_running` jobs run here, claim the oldest claimable
           discovery job and start it; True when one was started (look again at once)."""
        now = self._clock()
        if self._schedule and (self._next_schedule is None or now >= self._next_schedule):
            self._next_schedule = now + timedelta(seconds=self._schedule_seconds)
            await self.queue_due(now=now)
        if len(self._running) >= self._max_running:
            return False
        async with self._sessions() as db, db.begin():
            job = await jobs.claim(db, kind=JobKind.discovery, now=now)
        if job is None:
            return False
        jobs.publish(self._events, job)
        task = asyncio.create_task(self._execute(job), name=f"discovery job {job.id}")
        self._running.add(task)
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()  # a slot is free

    async def _execute(self, job: Job) -> None:
        beat = asyncio.create_task(
            heartbeat(self._sessions, job.id, jobs.LEASE.total_seconds() / 3)
        )
        try:
            await self._run(job)
        except asyncio.CancelledError:
            raise  # stopping: the lease lapses and the job is claimed again
        except Exception as exc:
            log.exception("discovery job %s failed", job.id)
            with contextlib.suppress(Exception):
                async with self._sessions() as db, db.begin():
                    if await db.get(Job, job.id) is None:
                        return
                    failed = await jobs.finish(
                        db, job_id=job.id, succeeded=False, detail=f"Discovery failed: {exc}"
                    )
                jobs.publish(self._events, failed)
        finally:
            beat.cancel()

    async def queue_due(self, *, now: datetime) -> int:
        """Queue a discovery of every account whose organization discovers automatically
        and whose last discovery job is older than the organization's interval (or that
        never had one). Accounts in error wait for new credentials or a passing test."""
        queued: list[Job] = []
        async with self._sessions() as db, db.begin():
            last_job = (
                select(Job.account_id, func.max(Job.created_at).label("at"))
                .where(Job.kind == JobKind.discovery.value)
                .group_by(Job.account_id)
                .subquery()
            )
            rows = await db.execute(
                select(CloudAccount.id, CloudAccount.org_id, Organization, last_job.c.at)
                .join(Organization, Organization.id == CloudAccount.org_id)
                .outerjoin(last_job, last_job.c.account_id == CloudAccount.id)
                .where(CloudAccount.status != AccountStatus.error.value)
            )
            for account_id, org_id, org, last_at in rows.all():
                org_settings = settings_of(org)
                if not org_settings.discovery_auto:
                    continue
                interval = INTERVALS[org_settings.discovery_interval]
                if last_at is not None:
                    last_at = last_at if last_at.tzinfo else last_at.replace(tzinfo=UTC)
                    if now - last_at < interval:
                        continue
                job, new = await jobs.enqueue(
                    db, org_id=org_id, kind=JobKind.discovery, account_id=account_id
                )
                if new:
                    queued.append(job)
        for job in queued:
            jobs.publish(self._events, job)
        self.wake()
        return len(queued)

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before looking, so a wake during the look is kept
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("discovery step failed; retrying in %.0f s", self._poll_seconds)
                busy = False
            if busy:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)

    async def stop(self) -> None:
        """End run() and the jobs running here; their leases lapse and they run again."""
        self._stopping.set()
        self._wake.set()
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)


DISCOVERY_ENGINE: web.AppKey[DiscoveryEngine] = web.AppKey("discovery_engine")
