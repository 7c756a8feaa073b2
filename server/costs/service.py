"""Cost rules that write: asking for a sync. Reads are in queries.py, the sync in sync.py."""

from __future__ import annotations

from sqlalchemy import func, select

from server.audit import service as audit
from server.cloud_accounts.models import CloudAccount
from server.http.errors import Conflict
from server.jobs import service as jobs
from server.service_context import Context, Wake
from shared.api.jobs import JobAccepted, JobKind


async def request_sync(ctx: Context) -> JobAccepted:
    """Queue one cost sync job for the organization (202): it syncs every AWS account.

    A sync already queued or running is answered instead of a second one. An organization
    without AWS accounts has nothing to sync: 409.
    """
    org_id = ctx.auth.org_id
    accounts = await ctx.db.scalar(
        select(func.count())
        .select_from(CloudAccount)
        .where(CloudAccount.org_id == org_id, CloudAccount.provider == "aws")
    )
    if not accounts:
        raise Conflict("No AWS cloud account to sync: add one first")
    job, new = await jobs.enqueue(
        ctx.db, org_id=org_id, kind=JobKind.cost_sync, requested_by_id=ctx.auth.user_id
    )
    if new:
        await audit.record(
            ctx, action="costs.sync_requested", resource_type="job", resource_id=job.id,
            detail=f"{accounts} AWS account(s)",
        )  # fmt: skip
        ctx.publish_after_commit(jobs.event_data(job))
    ctx.wake(Wake.cost_sync)
    return JobAccepted(job_id=job.id)
