"""The discovery engine: runs queued discovery jobs, and queues the organizations' scheduled runs.

How jobs are claimed and run is in server/engines/job_engine.py; what a run does is
decided in server/cloud_accounts/discovery.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cached_property

from aiohttp import web
from sqlalchemy import func, select

from server.cloud_accounts.discovery import Run
from server.cloud_accounts.models import CloudAccount
from server.engines import job_engine
from server.engines.job_engine import JobEngine
from server.engines.loop import Wakeable
from server.jobs import service as jobs
from server.jobs.models import Job
from server.orgs.models import Organization
from server.orgs.service import settings_of
from shared.api.cloud_accounts import AccountStatus
from shared.api.jobs import JobKind

INTERVALS = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "12h": timedelta(hours=12),
    "24h": timedelta(hours=24),
}


class DiscoveryEngine(JobEngine):
    """Two discoveries at once (each bounds its own provider calls); the schedule looks
    once a minute."""

    kind = JobKind.discovery
    label = "discovery"
    max_running = 2
    schedule_seconds = 60.0

    @cached_property
    def _run(self) -> Run:
        # One for the engine: its runs share the lock that keeps their writes one at a time.
        return Run(self._sessions, self._events, self._settings, self._keys, self._clock)

    async def perform(self, job: Job) -> None:
        await self._run(job)

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


DISCOVERY_ENGINE: web.AppKey[Wakeable] = web.AppKey("discovery_engine")


def build(app: web.Application) -> DiscoveryEngine:
    """The engine for the app, kept on it so requests can wake it."""
    return job_engine.build(app, DiscoveryEngine, DISCOVERY_ENGINE)
