"""Plain builders for the cloud client and CLI tests: rows written straight to the database
where the endpoint that makes them needs AWS (resources, daily costs, a running job)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.cloud_accounts.models import CloudAccount
from server.costs.models import MICROS, CostDaily
from server.jobs.models import Job
from server.resources.models import Resource, ResourceTag
from tests.aws import FAKE_ENV

# moto accepts any well-formed key pair; the server's tests use the same.
KEYS = {
    "access_key_id": FAKE_ENV["AWS_ACCESS_KEY_ID"],
    "secret_access_key": FAKE_ENV["AWS_SECRET_ACCESS_KEY"],
}


def url_of(client: TestClient) -> str:
    return str(client.make_url("/"))


async def add_account(db: AsyncSession, org_id: int, name: str = "Prod") -> int:
    """An account row for reading endpoints only: its sealed credentials are a stand-in."""
    async with db.begin():
        account = CloudAccount(
            org_id=org_id,
            name=name,
            provider="aws",
            auth_method="keys",
            credentials="not-a-real-token",
            credentials_hint="****0001",
            default_region="us-east-1",
            regions=["us-east-1", "eu-west-1"],
        )
        db.add(account)
        await db.flush()
        return account.id


async def add_resource(
    db: AsyncSession,
    *,
    org_id: int,
    account_id: int,
    name: str,
    type: str = "ec2_instance",
    state: str = "running",
    region: str = "us-east-1",
    tags: dict[str, str] | None = None,
    provider_id: str | None = None,
) -> int:
    async with db.begin():
        resource = Resource(
            org_id=org_id,
            account_id=account_id,
            provider="aws",
            provider_id=provider_id or f"id-{name}",
            type=type,
            name=name,
            state=state,
            size="t3.micro" if type == "ec2_instance" else None,
            region=region,
            tags=tags or {},
            details={"vpc": "vpc-1"},
        )
        db.add(resource)
        await db.flush()
        for key, value in (tags or {}).items():
            db.add(ResourceTag(resource_id=resource.id, key=key, value=value))
        return resource.id


async def add_costs(
    db: AsyncSession, *, org_id: int, account_id: int, daily: dict[str, str], days: list[date]
) -> None:
    async with db.begin():
        for day in days:
            for service, amount in daily.items():
                db.add(
                    CostDaily(
                        org_id=org_id,
                        account_id=account_id,
                        day=day,
                        service=service,
                        amount_micros=int(Decimal(amount) * MICROS),
                    )
                )


async def add_running_job(db: AsyncSession, *, org_id: int, kind: str) -> int:
    """A job a runner holds, leased for an hour: the server's own runners leave it alone."""
    now = datetime.now(UTC)
    async with db.begin():
        job = Job(
            org_id=org_id,
            kind=kind,
            status="running",
            progress={},
            result={},
            attempts=1,
            started_at=now,
            claimed_until=now + timedelta(hours=1),
        )
        db.add(job)
        await db.flush()
        return job.id


def this_month_so_far() -> list[date]:
    today = datetime.now(UTC).date()
    return [today.replace(day=n) for n in range(1, today.day + 1)]
