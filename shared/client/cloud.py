"""Cloud namespaces: accounts, background jobs and the resources discovery finds.

Costs and budgets live in costs.py; both modules keep the `endpoint` style of resources.py.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from shared.api.cloud_accounts import CloudAccountRead, CloudProvider, ConnectionTestResult
from shared.api.common import Page, jsonable
from shared.api.jobs import JobAccepted, JobKind, JobRead, JobStatus
from shared.api.resources import (
    BulkResourceOutcome,
    ResourceActionName,
    ResourceActionRead,
    ResourceDetail,
    ResourceRead,
    ResourceSummary,
    ResourceType,
    ResourceTypeCount,
)
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.errors import ClientError
from shared.client.namespace import Async, M, Namespace, Sync, endpoint

# AWS: {"role_arn", "external_id"} or {"access_key_id", "secret_access_key"}, or the models.
CredentialsLike = Mapping[str, Any] | BaseModel

FINISHED = frozenset({JobStatus.succeeded, JobStatus.failed})

# Told each state of a waited-for job that differs from the one before (status or progress).
JobCallback = Callable[[JobRead], None]


def _credentials(value: CredentialsLike | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return {key: jsonable(item) for key, item in value.items()}


class CloudAccounts(Namespace[M]):
    """Cloud provider accounts (`/cloud-accounts`); credentials go in, only a hint comes out."""

    @endpoint
    def list(self, *, page: int = 1, per_page: int = 50) -> Call[Page[CloudAccountRead]]:
        return Call(
            "GET",
            "/cloud-accounts",
            parse_as(Page[CloudAccountRead]),
            params=query(page=page, per_page=per_page),
        )

    @endpoint
    def get(self, account_id: int) -> Call[CloudAccountRead]:
        return Call("GET", f"/cloud-accounts/{int(account_id)}", parse_as(CloudAccountRead))

    @endpoint
    def create(
        self,
        *,
        name: str,
        credentials: CredentialsLike,
        provider: CloudProvider | str = CloudProvider.aws,
        default_region: str | None = None,
        regions: Sequence[str] | None = None,
        cloudwatch_enabled: bool | None = None,
    ) -> Call[CloudAccountRead]:
        return Call(
            "POST",
            "/cloud-accounts",
            parse_as(CloudAccountRead),
            json=body(
                name=name,
                provider=provider,
                credentials=_credentials(credentials),
                default_region=default_region,
                regions=None if regions is None else builtins.list(regions),
                cloudwatch_enabled=cloudwatch_enabled,
            ),
        )

    @endpoint
    def update(
        self,
        account_id: int,
        *,
        name: str | None = None,
        credentials: CredentialsLike | None = None,
        default_region: str | None = None,
        regions: Sequence[str] | None = None,
        cloudwatch_enabled: bool | None = None,
    ) -> Call[CloudAccountRead]:
        """Change what is given; new credentials replace the stored ones."""
        return Call(
            "PATCH",
            f"/cloud-accounts/{int(account_id)}",
            parse_as(CloudAccountRead),
            json=body(
                name=name,
                credentials=_credentials(credentials),
                default_region=default_region,
                regions=None if regions is None else builtins.list(regions),
                cloudwatch_enabled=cloudwatch_enabled,
            ),
        )

    @endpoint
    def delete(self, account_id: int) -> Call[None]:
        """Removes the account with its resources and cost rows."""
        return Call("DELETE", f"/cloud-accounts/{int(account_id)}", no_content)

    @endpoint
    def test(
        self,
        *,
        credentials: CredentialsLike,
        provider: CloudProvider | str = CloudProvider.aws,
        default_region: str | None = None,
    ) -> Call[ConnectionTestResult]:
        """Try credentials before saving them: identity, then read access per feature."""
        return Call(
            "POST",
            "/cloud-accounts/test",
            parse_as(ConnectionTestResult),
            json=body(
                provider=provider,
                credentials=_credentials(credentials),
                default_region=default_region,
            ),
        )

    @endpoint
    def test_saved(self, account_id: int) -> Call[ConnectionTestResult]:
        return Call(
            "POST", f"/cloud-accounts/{int(account_id)}/test", parse_as(ConnectionTestResult)
        )

    @endpoint
    def discover(self, account_id: int) -> Call[JobAccepted]:
        """Start a discovery run; follow it with `jobs.get` or `jobs.wait`."""
        return Call("POST", f"/cloud-accounts/{int(account_id)}/discover", parse_as(JobAccepted))


class JobTimeout(ClientError):
    """`jobs.wait` gave up; `job` is the last state read (still queued or running)."""

    def __init__(self, job: JobRead, timeout: float) -> None:
        super().__init__(f"job {job.id} still {job.status.value} after {timeout:g} s")
        self.job = job


class Jobs(Namespace[M]):
    """Background jobs (`/jobs`): discovery runs and cost syncs, their progress and outcome."""

    @endpoint
    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        kind: JobKind | str | None = None,
        status: JobStatus | str | None = None,
        account_id: int | None = None,
    ) -> Call[Page[JobRead]]:
        return Call(
            "GET",
            "/jobs",
            parse_as(Page[JobRead]),
            params=query(
                page=page, per_page=per_page, kind=kind, status=status, account_id=account_id
            ),
        )

    @endpoint
    def get(self, job_id: int) -> Call[JobRead]:
        return Call("GET", f"/jobs/{int(job_id)}", parse_as(JobRead))


class _Polling:
    """What `wait` decides after each read of the job, shared by its sync and async loops:
    tell `on_update` of a new status or progress; then the job is finished (None), the
    time is up (JobTimeout), or the seconds to sleep before the next read."""

    def __init__(self, timeout: float, interval: float, on_update: JobCallback | None) -> None:
        self.timeout = timeout
        self.interval = interval
        self.deadline = time.monotonic() + timeout
        self.on_update = on_update
        self.last: tuple[JobStatus, dict[str, Any]] | None = None

    def pause_after(self, job: JobRead) -> float | None:
        state = (job.status, job.progress)
        if self.on_update is not None and state != self.last:
            self.on_update(job)
        self.last = state
        if job.status in FINISHED:
            return None
        if time.monotonic() >= self.deadline:
            raise JobTimeout(job, self.timeout)
        return max(0.0, min(self.interval, self.deadline - time.monotonic()))


class SyncJobs(Jobs[Sync]):
    def wait(
        self,
        job_id: int,
        timeout: float = 300.0,
        *,
        interval: float = 1.0,
        on_update: JobCallback | None = None,
    ) -> JobRead:
        """Poll the job until it succeeds or fails, and return it (a failed job is returned,
        not raised: its `detail` says why). Raises `JobTimeout` after `timeout` seconds.
        `on_update` is told each new status or progress, the final one included."""
        polling = _Polling(timeout, interval, on_update)
        while True:
            job = self.get(job_id)
            pause = polling.pause_after(job)
            if pause is None:
                return job
            time.sleep(pause)


class AsyncJobs(Jobs[Async]):
    async def wait(
        self,
        job_id: int,
        timeout: float = 300.0,
        *,
        interval: float = 1.0,
        on_update: JobCallback | None = None,
    ) -> JobRead:
        """`SyncJobs.wait`, awaited."""
        polling = _Polling(timeout, interval, on_update)
        while True:
            job = await self.get(job_id)
            pause = polling.pause_after(job)
            if pause is None:
                return job
            await asyncio.sleep(pause)


class CloudResources(Namespace[M]):
    """Cloud resources found by discovery (`/resources`), and start / stop / reboot."""

    @endpoint
    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        account_id: int | None = None,
        provider: str | None = None,
        type: ResourceType | str | None = None,
        region: str | None = None,
        state: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        sort: str | None = None,
    ) -> Call[Page[ResourceRead]]:
        """`tag` is "key:value" (or "key" alone); `sort` a field, "-field" for descending."""
        return Call(
            "GET",
            "/resources",
            parse_as(Page[ResourceRead]),
            params=query(
                page=page,
                per_page=per_page,
                account_id=account_id,
                provider=provider,
                type=type,
                region=region,
                state=state,
                tag=tag,
                q=q,
                sort=sort,
            ),
        )

    @endpoint
    def summary(self) -> Call[ResourceSummary]:
        """Counts by type, state, region and account."""
        return Call("GET", "/resources/summary", parse_as(ResourceSummary))

    @endpoint
    def types(self) -> Call[builtins.list[ResourceTypeCount]]:
        return Call("GET", "/resources/types", parse_as(builtins.list[ResourceTypeCount]))

    @endpoint
    def get(self, resource_id: int) -> Call[ResourceDetail]:
        return Call("GET", f"/resources/{int(resource_id)}", parse_as(ResourceDetail))

    @endpoint
    def start(self, resource_id: int) -> Call[ResourceActionRead]:
        return self._act(resource_id, ResourceActionName.start)

    @endpoint
    def stop(self, resource_id: int) -> Call[ResourceActionRead]:
        return self._act(resource_id, ResourceActionName.stop)

    @endpoint
    def reboot(self, resource_id: int) -> Call[ResourceActionRead]:
        return self._act(resource_id, ResourceActionName.reboot)

    def _act(self, resource_id: int, action: ResourceActionName) -> Call[ResourceActionRead]:
        """The action is accepted (202); its outcome arrives as `resource.state` events and
        in `actions()`. An action the resource does not support is a Conflict (409)."""
        return Call(
            "POST",
            f"/resources/{int(resource_id)}/{action.value}",
            parse_as(ResourceActionRead),
        )

    @endpoint
    def bulk_action(
        self, ids: Sequence[int], action: ResourceActionName | str
    ) -> Call[builtins.list[BulkResourceOutcome]]:
        """One outcome per id, in order; one failing does not stop the others."""
        return Call(
            "POST",
            "/resources/bulk-action",
            parse_as(builtins.list[BulkResourceOutcome]),
            json=body(ids=[int(i) for i in ids], action=action),
        )

    @endpoint
    def actions(
        self, resource_id: int, *, page: int = 1, per_page: int = 50
    ) -> Call[Page[ResourceActionRead]]:
        """Action history, newest first: who, when, from which state to which, outcome."""
        return Call(
            "GET",
            f"/resources/{int(resource_id)}/actions",
            parse_as(Page[ResourceActionRead]),
            params=query(page=page, per_page=per_page),
        )
