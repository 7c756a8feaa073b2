"""HTTP handlers for /jobs: parse -> call service -> serialize."""

from __future__ import annotations

from server.http.routing import Call
from server.jobs import service as jobs
from shared.api.common import Page
from shared.api.jobs import JobRead


async def list_jobs(call: Call) -> Page[JobRead]:
    """GET /jobs"""
    return await jobs.list_jobs(call.db, org_id=call.auth.org_id, query=call.query)


async def get_job(call: Call) -> JobRead:
    """GET /jobs/{id}"""
    job = await jobs.job_of(call.db, org_id=call.auth.org_id, job_id=call.path["id"])
    return jobs.job_read(job)
