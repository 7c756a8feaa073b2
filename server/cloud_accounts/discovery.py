"""One discovery run: list every service in every region of an account and store the result.

The engine (server/engines/discovery.py) claims a job and calls `run`; this module decides
what a run does and what its outcome says.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.cloud_accounts.models import CloudAccount
from server.cloud_accounts.providers import ProviderError, Unit, provider_for
from server.cloud_accounts.service import credentials_of
from server.config import Settings
from server.events import EventPublisher
from server.jobs import service as jobs
from server.jobs.models import Job
from server.keys import Keys
from server.resources import discovery as stored
from shared.api.cloud_accounts import AccountStatus

log = logging.getLogger("upmetr.discovery")

MAX_FAILURES_KEPT = 50


@dataclass
class Outcome:
    found: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    terminated: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def add(self, applied: stored.Applied) -> None:
        self.found += applied.found
        self.new += applied.new
        self.updated += applied.updated
        self.unchanged += applied.unchanged
        self.terminated += applied.terminated

    def counts(self, regions: list[str], units: int) -> dict[str, Any]:
        return {
            "found": self.found,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "terminated": self.terminated,
            "regions": len(regions),
            "units": units,
            "failed_units": len(self.failures),
            "failures": self.failures[:MAX_FAILURES_KEPT],
        }


class AccountGone(Exception):
    """The account (and so its job) was deleted while its discovery ran."""


class Run:
    """run(job):
    1. Load the account; prove its identity with a free call. Credentials refused: the
       account is set to `error` and the job fails; nothing else is tried.
    2. Regions: the account's, else every enabled one (ec2 DescribeRegions).
    3. Units: each regional service in each region, each global service once. They run
       at once, bounded by `provider_concurrency` in all, per service, and by
       `provider_region_concurrency` per region; botocore retries throttled calls
       (adaptive mode) before a unit fails.
    4. A unit that lists is stored at once (resources.discovery.apply, one transaction,
       one at a time) and its state changes are published as `resource.state`; a unit that
       fails is recorded in the result with its reason and stores nothing.
    5. After each unit the job's progress {done, total, step} is saved and pushed.
    6. The job fails only when no unit could be read; else it succeeds, its result holding
       the counts (found, new, updated, unchanged, terminated) and the failures. A unit
       refused for the credentials sets the account to `error`.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventPublisher,
        settings: Settings,
        keys: Keys,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._settings = settings
        self._keys = keys
        self._clock = clock
        self._write = asyncio.Lock()

    async def __call__(self, job: Job) -> None:
        try:
            await self._discover(job)
        except* AccountGone:
            log.info("discovery job %s ended: its account was deleted", job.id)

    async def _discover(self, job: Job) -> None:
        account = await self._account(job)
        if account is None:
            await self._finish(job, False, {}, "The cloud account no longer exists")
            return
        provider = provider_for(account.provider, self._settings)
        credentials = credentials_of(self._keys, account)
        try:
            external_id = await provider.identity(credentials, region=account.default_region)
            regions = list(account.regions) or await provider.regions(
                credentials, region=account.default_region
            )
        except ProviderError as exc:
            await self._account_failed(account, exc)
            await self._finish(job, False, {}, f"Could not connect: {exc}")
            return
        units = provider.units(regions, default_region=account.default_region)
        progress: dict[str, Any] = {"done": 0, "total": len(units), "step": "listing"}
        await self._progress(job, account, progress)
        outcome = Outcome()
        everything = asyncio.Semaphore(self._settings.provider_concurrency)
        per_region: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self._settings.provider_region_concurrency)
        )
        per_service: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self._settings.provider_concurrency)
        )
        refused: list[ProviderError] = []

        async def one(unit: Unit) -> None:
            async with everything, per_service[unit.service], per_region[unit.region]:
                try:
                    found = await provider.discover(credentials, unit)
                except ProviderError as exc:
                    found = None
                    if exc.credentials:
                        refused.append(exc)
                    outcome.failures.append({
                        "unit": unit.label, "service": unit.service,
                        "region": None if unit.global_service else unit.region,
                        "detail": str(exc), "permanent": exc.permanent,
                    })  # fmt: skip
            async with self._write:
                if found is not None:
                    await self._store(job, account, unit, found, outcome)
                progress["done"] += 1
                progress["step"] = f"listed {unit.label}"
                await self._progress(job, account, progress)

        # A task group: if one unit cannot be stored (the account was deleted meanwhile),
        # the others stop too instead of writing for an account that is gone.
        async with asyncio.TaskGroup() as group:
            for unit in units:
                group.create_task(one(unit))
        result = outcome.counts(regions, len(units))
        if refused:
            await self._account_failed(account, refused[0])
        if units and len(outcome.failures) == len(units):
            detail = f"Nothing could be read: {outcome.failures[0]['detail']}"
            await self._finish(job, False, result, detail)
            return
        detail = (
            f"Found {outcome.found} resources in {len(regions)} regions: {outcome.new} new, "
            f"{outcome.updated} updated, {outcome.terminated} terminated"
        )
        if outcome.failures:
            detail += f"; {len(outcome.failures)} of {len(units)} listings failed"
        await self._finish(
            job, True, result, detail, account=account, external_id=external_id,
            connected=not refused,
        )  # fmt: skip

    async def _account(self, job: Job) -> CloudAccount | None:
        if job.account_id is None:
            return None
        async with self._sessions() as db:
            return await db.get(CloudAccount, job.account_id)

    @staticmethod
    async def _check(db: AsyncSession, job: Job, account: CloudAccount) -> None:
        """AccountGone once the account (and with it the job) was deleted during the run;
        their ids are never reused (AUTOINCREMENT), so the ids alone tell."""
        if await db.get(CloudAccount, account.id) is None or await db.get(Job, job.id) is None:
            raise AccountGone()

    async def _store(
        self,
        job: Job,
        account: CloudAccount,
        unit: Unit,
        found: list[dict[str, Any]],
        outcome: Outcome,
    ) -> None:
        async with self._sessions() as db, db.begin():
            await self._check(db, job, account)
            applied = await stored.apply(
                db, org_id=account.org_id, account_id=account.id, provider=account.provider,
                resource_type=unit.resource_type,
                region=None if unit.global_service else unit.region, found=found,
                now=self._clock(),
            )  # fmt: skip
        outcome.add(applied)
        for change in applied.changes:
            self._events.publish(account.org_id, change.event())

    async def _progress(self, job: Job, account: CloudAccount, values: dict[str, Any]) -> None:
        async with self._sessions() as db, db.begin():
            await self._check(db, job, account)
            updated = await jobs.progress(db, job_id=job.id, values=dict(values), now=self._clock())
        jobs.publish(self._events, updated)

    async def _account_failed(self, account: CloudAccount, exc: ProviderError) -> None:
        if not exc.credentials:
            return
        async with self._sessions() as db, db.begin():
            row = await db.get(CloudAccount, account.id)
            if row is not None:
                row.status = AccountStatus.error.value
                row.status_detail = f"Discovery could not connect: {exc}"[:2000]

    async def _finish(
        self,
        job: Job,
        succeeded: bool,
        result: dict[str, Any],
        detail: str,
        *,
        account: CloudAccount | None = None,
        external_id: str | None = None,
        connected: bool = False,
    ) -> None:
        now = self._clock()
        async with self._sessions() as db, db.begin():
            if account is not None:
                await self._check(db, job, account)
                row = await db.get(CloudAccount, account.id)
                if row is not None:
                    row.last_discovered_at = now
                    row.external_account_id = external_id or row.external_account_id
                    if connected and row.status != AccountStatus.ok.value:
                        row.status = AccountStatus.ok.value
                        row.status_detail = f"Connected to account {external_id} (discovery)"

            if await db.get(Job, job.id) is None:  # the account was deleted meanwhile
                return
            finished = await jobs.finish(
                db, job_id=job.id, succeeded=succeeded, result=result, detail=detail, now=now
            )
        jobs.publish(self._events, finished)
