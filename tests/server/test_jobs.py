"""Background jobs: queueing, claiming with a lease, progress and outcome, and GET /jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.context import SESSIONS
from server.jobs import service as jobs
from server.jobs.models import Job
from tests.conftest import World

JOBS = "/api/v1/jobs"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


async def queue(db: AsyncSession, org_id: int, kind: str = "cost_sync") -> int:
    async with db.begin():
        job, _ = await jobs.enqueue(db, org_id=org_id, kind=kind)
        return job.id


async def test_asking_for_a_job_already_queued_returns_that_one(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    async with db.begin():
        first, new = await jobs.enqueue(db, org_id=world.org_a, kind="cost_sync")
        again, again_new = await jobs.enqueue(db, org_id=world.org_a, kind="cost_sync")
        other, other_new = await jobs.enqueue(db, org_id=world.org_b, kind="cost_sync")
    assert (new, again_new, other_new) == (True, False, True)
    assert again.id == first.id != other.id


async def test_two_processes_asking_at_once_get_one_job(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    """The second asks while the first's job is not yet committed, so it cannot see it: the
    database's unique index makes it wait and then hands it the first's job."""
    sessions = client.app[SESSIONS]
    first_added = asyncio.Event()

    async def ask(*, hold: bool) -> int:
        async with sessions() as session, session.begin():
            job, _ = await jobs.enqueue(session, org_id=world.org_a, kind="cost_sync")
            if hold:
                first_added.set()
                await asyncio.sleep(0.3)  # the other asks meanwhile
            return job.id

    async def ask_second() -> int:
        await first_added.wait()
        return await ask(hold=False)

    first, second = await asyncio.gather(ask(hold=True), ask_second())
    assert first == second
    async with db.begin():
        count = await db.scalar(select(func.count()).where(Job.org_id == world.org_a))
    assert count == 1


async def test_a_job_is_claimed_once_even_by_runners_racing_for_it(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    job_id = await queue(db, world.org_a)
    sessions = client.app[SESSIONS]

    async def runner() -> int | None:
        async with sessions() as session, session.begin():
            claimed = await jobs.claim(session, kind="cost_sync", now=NOW)
            return claimed.id if claimed else None

    claims = await asyncio.gather(*(runner() for _ in range(4)))
    assert sorted(claims, key=lambda x: x or 0) == [None, None, None, job_id]
    async with db.begin():
        assert await jobs.claim(db, kind="discovery", now=NOW) is None


async def test_a_job_whose_runner_died_is_claimed_again_once_its_lease_lapses(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    job_id = await queue(db, world.org_a)
    async with db.begin():
        claimed = await jobs.claim(db, kind="cost_sync", now=NOW)
        assert claimed is not None and claimed.status == "running" and claimed.attempts == 1
    async with db.begin():  # still leased: nobody else takes it
        assert await jobs.claim(db, kind="cost_sync", now=NOW + jobs.LEASE / 2) is None
    async with db.begin():  # progress renews the lease
        await jobs.progress(db, job_id=job_id, values={"done": 1}, now=NOW + jobs.LEASE / 2)
    async with db.begin():
        assert await jobs.claim(db, kind="cost_sync", now=NOW + jobs.LEASE) is None
    async with db.begin():
        again = await jobs.claim(db, kind="cost_sync", now=NOW + jobs.LEASE * 2)
        assert again is not None and again.id == job_id and again.attempts == 2
        assert again.progress == {"done": 1}


async def test_a_job_that_keeps_killing_its_runner_is_failed_after_its_attempts(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    job_id = await queue(db, world.org_a)
    now = NOW
    for _ in range(jobs.MAX_ATTEMPTS):
        async with db.begin():
            assert await jobs.claim(db, kind="cost_sync", now=now) is not None
        now += jobs.LEASE + timedelta(seconds=1)
    async with db.begin():
        assert await jobs.claim(db, kind="cost_sync", now=now) is None
    response = await client.get(f"{JOBS}/{job_id}", headers=world.alice.headers)
    job = await response.json()
    assert job["status"] == "failed" and "gave up after 3 attempts" in job["detail"]


async def test_progress_and_outcome_are_readable_and_pushed(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    job_id = await queue(db, world.org_a)
    async with db.begin():
        await jobs.claim(db, kind="cost_sync", now=NOW)
        running = await jobs.progress(db, job_id=job_id, values={"done": 2, "total": 5})
    response = await client.get(f"{JOBS}/{job_id}", headers=world.bob.headers)
    assert (await response.json())["progress"] == {"done": 2, "total": 5}
    async with db.begin():
        finished = await jobs.finish(
            db, job_id=job_id, succeeded=True, result={"rows": 3}, detail="3 rows"
        )
    data = jobs.event_data(finished).wire()
    assert (data["status"], data["result"], data["detail"]) == ("succeeded", {"rows": 3}, "3 rows")
    job = await (await client.get(f"{JOBS}/{job_id}", headers=world.alice.headers)).json()
    assert (job["status"], job["result"], job["progress"]["done"]) == ("succeeded", {"rows": 3}, 2)
    assert job["started_at"].endswith("Z") and job["finished_at"].endswith("Z")
    assert running.id == job_id


async def test_jobs_are_listed_newest_first_with_filters_per_organization(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    # cost_sync jobs: no runner is started by these tests to pick them up.
    first = await queue(db, world.org_a)
    async with db.begin():
        await jobs.finish(db, job_id=first, succeeded=False, detail="no data")
    second = await queue(db, world.org_a)
    carols = await queue(db, world.org_b)
    listed = await (await client.get(JOBS, headers=world.alice.headers)).json()
    assert [job["id"] for job in listed["items"]] == [second, first] and listed["total"] == 2
    filtered = await client.get(f"{JOBS}?kind=cost_sync&status=queued", headers=world.alice.headers)
    assert [job["id"] for job in (await filtered.json())["items"]] == [second]
    none = await client.get(f"{JOBS}?kind=discovery", headers=world.alice.headers)
    assert (await none.json())["total"] == 0
    assert (await client.get(f"{JOBS}?kind=nope", headers=world.alice.headers)).status == 400
    theirs = await (await client.get(JOBS, headers=world.carol.headers)).json()
    assert [job["id"] for job in theirs["items"]] == [carols]


async def test_another_organizations_job_is_not_found(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    job_id = await queue(db, world.org_a)
    assert (await client.get(f"{JOBS}/{job_id}", headers=world.carol.headers)).status == 404
    assert (await client.get(f"{JOBS}/{job_id}", headers=world.alice.headers)).status == 200
    assert (await client.get(f"{JOBS}/999999", headers=world.alice.headers)).status == 404
