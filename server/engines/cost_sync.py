"""The cost sync engine: runs queued cost sync jobs, and queues each organization's daily sync.

How jobs are claimed and run is in server/engines/job_engine.py; what a sync does is
decided in server/costs/sync.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import func, select

from server.cloud_accounts.models import CloudAccount
from server.costs import sync
from server.engines import job_engine
from server.engines.job_engine import JobEngine
from server.engines.loop import Wakeable
from server.jobs import service as jobs
from server.jobs.models import Job
from shared.api.jobs import JobKind

# Cost Explorer refreshes its data about three times a day; a daily sync keeps figures
# fresh at 60 billed requests a month or so per account.
# https://docs.aws.amazon.com/cost-management/latest/userguide/ce-exploring-data.html
SYNC_EVERY = timedelta(hours=24)


class CostSyncEngine(JobEngine):
    """One sync at a time: Cost Explorer throttles per account, and a job walks its
    accounts in turn. The schedule looks every ten minutes."""

    kind = JobKind.cost_sync
    label = "cost sync"
    max_running = 1
    schedule_seconds = 600.0

    async def perform(self, job: Job) -> None:
        await sync.run_job(
            self._sessions, self._events, self._settings, self._keys, job, clock=self._clock
        )

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
                    jobs.publish(self._events, job)
        return queued


COST_SYNC_ENGINE: web.AppKey[Wakeable] = web.AppKey("cost_sync_engine")


def build(app: web.Application) -> CostSyncEngine:
    """The engine for the app, kept on it so requests can wake it."""
    return job_engine.build(app, CostSyncEngine, COST_SYNC_ENGINE)
