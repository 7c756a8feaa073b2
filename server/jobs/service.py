"""Background jobs: queued by a request (or a schedule), claimed and run by an engine.

A job is claimed with a compare-and-set update and a lease (`claimed_until`): the runner
extends the lease while it works (`progress`, `extend`), so a job whose runner died is
claimed again once its lease lapses, up to `MAX_ATTEMPTS` times. Functions take the
caller's session and never commit; callers publish `event_data(job)` as `job.updated`
after their transaction commits (`publish` does it for engines).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from server.db import paging
from server.db.base import utcnow
from server.events import EventPublisher
from server.http.errors import NotFound
from server.jobs.models import Job
from shared.api.common import Page
from shared.api.events import JobUpdated
from shared.api.jobs import JobKind, JobQuery, JobRead, JobStatus

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3
QUEUED = JobStatus.queued.value
RUNNING = JobStatus.running.value
SUCCEEDED = JobStatus.succeeded.value
FAILED = JobStatus.failed.value
ACTIVE = (QUEUED, RUNNING)


def event_data(job: Job) -> JobUpdated:
    """The `job.updated` live event of the job's state."""
    return JobUpdated(
        id=job.id,
        kind=job.kind,
        status=job.status,
        account_id=job.account_id,
        progress=job.progress or {},
        result=job.result or {},
        detail=job.detail,
    )


def publish(events: EventPublisher, job: Job) -> None:
    """Push the job's state to its organization's live events (after a commit)."""
    events.publish(job.org_id, event_data(job))


def job_read(job: Job) -> JobRead:
    return JobRead.model_validate(job)


async def active_job(
    db: AsyncSession, *, org_id: int, kind: JobKind | str, account_id: int | None
) -> Job | None:
    """The queued or running job of this kind for this account, if there is one."""
    return await db.scalar(
        select(Job)
        .where(
            Job.org_id == org_id,
            Job.kind == str(kind),
            Job.account_id.is_(None) if account_id is None else Job.account_id == account_id,
            Job.status.in_(ACTIVE),
        )
        .order_by(Job.id)
        .limit(1)
    )


async def enqueue(
    db: AsyncSession,
    *,
    org_id: int,
    kind: JobKind | str,
    account_id: int | None = None,
    requested_by_id: int | None = None,
    progress: dict[str, Any] | None = None,
) -> tuple[Job, bool]:
    """Queue a job; returns it and whether it is new.

    A job of the same kind for the same account that is still queued or running is
    returned instead of a second one: asking twice for a discovery runs it once. Two
    processes asking at once both miss it, and the database's unique indexes (jobs/models.py)
    let one insert: the other gets the one inserted.
    """
    existing = await active_job(db, org_id=org_id, kind=kind, account_id=account_id)
    if existing is not None:
        return existing, False
    job = Job(
        org_id=org_id,
        kind=str(kind),
        account_id=account_id,
        status=QUEUED,
        progress=progress or {},
        result={},
        requested_by_id=requested_by_id,
    )
    try:
        async with db.begin_nested():
            db.add(job)
    except IntegrityError:
        existing = await active_job(db, org_id=org_id, kind=kind, account_id=account_id)
        if existing is None:  # not another process's job (a deleted account, say)
            raise
        return existing, False
    return job, True


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        Job.status == QUEUED,
        and_(Job.status == RUNNING, Job.claimed_until < now),
    )


async def claim(
    db: AsyncSession, *, kind: JobKind | str, now: datetime | None = None, lease: timedelta = LEASE
) -> Job | None:
    """Claim the oldest claimable job of `kind`, or None.

    1. Candidates: queued jobs, and running jobs whose lease lapsed (their runner died);
       on PostgreSQL read `FOR UPDATE SKIP LOCKED`, past those another runner is claiming.
    2. A lapsed job that already had MAX_ATTEMPTS is failed instead (it keeps crashing
       its runner), and the next candidate is tried.
    3. The claim is `UPDATE ... WHERE id = ? AND <still claimable>`: when another runner
       took it first, no row changes and the next candidate is tried.
    4. The claimed job is running, leased until now + lease, one attempt more.
    """
    now = now or utcnow()
    kind = str(kind)
    for _ in range(10):
        candidate = await db.scalar(
            select(Job)
            .where(Job.kind == kind, _claimable(now))
            .order_by(Job.id)
            .limit(1)
            # PostgreSQL: a job another runner is claiming is passed over, not waited for.
            .with_for_update(skip_locked=True)
        )
        if candidate is None:
            return None
        if candidate.status == RUNNING and candidate.attempts >= MAX_ATTEMPTS:
            await db.execute(
                update(Job)
                .where(Job.id == candidate.id, _claimable(now))
                .values(
                    status=FAILED,
                    finished_at=now,
                    claimed_until=None,
                    detail=f"gave up after {candidate.attempts} attempts: its runner stopped",
                )
                .execution_options(synchronize_session=False)
            )
            await db.refresh(candidate)
            continue
        claimed = await db.execute(
            update(Job)
            .where(Job.id == candidate.id, _claimable(now))
            .values(
                status=RUNNING,
                claimed_until=now + lease,
                attempts=Job.attempts + 1,
                started_at=func.coalesce(Job.started_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        await db.refresh(candidate)
        if claimed.rowcount:  # type: ignore[attr-defined]
            return candidate
    return None


async def extend(
    db: AsyncSession, *, job_id: int, now: datetime | None = None, lease: timedelta = LEASE
) -> None:
    """Renew the lease of a running job (its runner is alive)."""
    await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == RUNNING)
        .values(claimed_until=(now or utcnow()) + lease)
        .execution_options(synchronize_session=False)
    )


async def progress(
    db: AsyncSession,
    *,
    job_id: int,
    values: dict[str, Any],
    now: datetime | None = None,
    lease: timedelta = LEASE,
) -> Job:
    """Record a running job's progress (e.g. {done, total, step}) and renew its lease."""
    job = await db.get_one(Job, job_id)
    job.progress = {**(job.progress or {}), **values}
    if job.status == RUNNING:
        job.claimed_until = (now or utcnow()) + lease
    await db.flush()
    return job


async def finish(
    db: AsyncSession,
    *,
    job_id: int,
    succeeded: bool,
    result: dict[str, Any] | None = None,
    detail: str | None = None,
    now: datetime | None = None,
) -> Job:
    """End a job: succeeded or failed, with its outcome counts and a sentence."""
    job = await db.get_one(Job, job_id)
    job.status = SUCCEEDED if succeeded else FAILED
    job.result = result or {}
    job.detail = detail[:2000] if detail else None
    job.finished_at = now or utcnow()
    job.claimed_until = None
    await db.flush()
    return job


# Reading jobs (GET /jobs, GET /jobs/{id})


async def job_of(db: AsyncSession, *, org_id: int, job_id: int) -> Job:
    """The job `job_id` of `org_id`; another organization's is a 404 too."""
    job = await db.scalar(select(Job).where(Job.id == job_id, Job.org_id == org_id))
    if job is None:
        raise NotFound("Job not found")
    return job


async def list_jobs(db: AsyncSession, *, org_id: int, query: JobQuery) -> Page[JobRead]:
    where: list[ColumnElement[bool]] = [Job.org_id == org_id]
    if query.kind is not None:
        where.append(Job.kind == query.kind.value)
    if query.status is not None:
        where.append(Job.status == query.status.value)
    if query.account_id is not None:
        where.append(Job.account_id == query.account_id)
    statement = select(Job).where(*where).order_by(Job.id.desc())
    return await paging.page_of(db, statement, query, Page[JobRead], job_read)
