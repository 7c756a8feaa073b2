"""Cloud rows for the snapshot world: accounts, resources with an action history, 75 days of
daily costs, the last syncs and budgets, every value and time written here.

The pictures are taken at CLOUD_MOMENT (20 Jan 2026, 12:00 UTC): the console's clock says so,
and `frozen_server_clock` makes the server's cost and budget handlers, which read the wall
clock for "this month", say so too (the server runs in this process, on a thread).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.budgets.models import Budget
from server.cloud_accounts.models import CloudAccount
from server.costs.models import MICROS, CostDaily, CostSync
from server.db.engine import create_engine
from server.resources.models import Resource, ResourceAction, ResourceTag
from tests.console.snapshot_world import server_settings

CLOUD_MOMENT = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
TODAY = CLOUD_MOMENT.date()
COST_DAYS = 75


def at(hours: int = 12, minutes: int = 0, *, days_before: int = 0) -> datetime:
    return datetime(2026, 1, 20, hours, minutes, tzinfo=UTC) - timedelta(days=days_before)


ACCOUNTS = (("production", "123456789012"), ("staging", "210987654321"))

# name, type, state, size, region, account, tags, state changed (days before), metadata
RESOURCES: tuple[tuple[str, str, str, str | None, str, str, dict[str, str], int], ...] = (
    ("web-1", "ec2_instance", "running", "t3.large", "eu-west-1", "production",
     {"env": "prod", "team": "checkout"}, 12),
    ("web-2", "ec2_instance", "running", "t3.large", "eu-west-1", "production",
     {"env": "prod", "team": "checkout"}, 12),
    ("batch-worker", "ec2_instance", "stopped", "c6i.2xlarge", "us-east-1", "production",
     {"env": "prod", "team": "data"}, 3),
    ("orders-db", "rds_instance", "available", "db.r6g.large", "eu-west-1", "production",
     {"env": "prod"}, 40),
    ("thumbnailer", "lambda_function", "active", "python3.12", "eu-west-1", "production",
     {"env": "prod", "team": "media"}, 20),
    ("assets-bucket", "s3_bucket", "available", None, "us-east-1", "production", {}, 300),
    ("public-alb", "load_balancer", "active", "application", "eu-west-1", "production",
     {"env": "prod"}, 90),
    ("staging-web", "ec2_instance", "stopping", "t3.medium", "eu-west-1", "staging",
     {"env": "staging"}, 0),
    ("staging-db", "rds_instance", "stopped", "db.t3.medium", "eu-west-1", "staging",
     {"env": "staging"}, 6),
)  # fmt: skip

WEB_1_METADATA: dict[str, Any] = {
    "ImageId": "ami-0a1b2c3d4e5f67890",
    "InstanceType": "t3.large",
    "Placement": {"AvailabilityZone": "eu-west-1a", "Tenancy": "default"},
    "PrivateIpAddress": "10.0.1.17",
    "VpcId": "vpc-0f1e2d3c",
    "LaunchTime": "2025-11-03T09:14:00Z",
    "SecurityGroups": [{"GroupId": "sg-0123abcd", "GroupName": "web"}],
}

# web-1's history: action, outcome, who, from, to, requested (days before, hour), seconds
WEB_1_ACTIONS = (
    ("stop", "succeeded", "alice@example.com", "running", "stopped", (12, 9), 41),
    ("start", "succeeded", "alice@example.com", "stopped", "running", (12, 10), 38),
    ("reboot", "failed", "alice@example.com", "running", "running", (2, 15), 600),
)

# service, account, dollars a day on weekdays, at weekends, growth a day (share)
SERVICES = (
    ("Amazon EC2", "production", 182.0, 121.0, 0.004),
    ("Amazon RDS", "production", 96.0, 96.0, 0.0),
    ("Amazon S3", "production", 23.5, 22.0, 0.002),
    ("AWS Lambda", "production", 8.2, 3.1, 0.01),
    ("Elastic Load Balancing", "production", 14.4, 14.4, 0.0),
    ("Amazon EC2", "staging", 41.0, 12.0, 0.0),
    ("Amazon RDS", "staging", 18.0, 18.0, 0.0),
)

# name, amount, period, threshold, account, service
BUDGETS = (
    ("AWS total", "8000.00", "monthly", 80, None, None),
    ("EC2 production", "4000.00", "monthly", 80, "production", "Amazon EC2"),
    ("Staging", "950.00", "monthly", 75, "staging", None),
    ("RDS this quarter", "30000.00", "quarterly", 90, None, "Amazon RDS"),
)


def daily_cost(day: date, weekday: float, weekend: float, growth: float) -> float:
    """A cent-exact cost with a weekly rhythm, a trend and a small wobble of its own."""
    base = weekend if day.weekday() >= 5 else weekday
    age = (TODAY - day).days
    wobble = 1 + 0.03 * math.sin(day.toordinal() * 1.7)
    return round(base * (1 - growth * age) * wobble, 2)


def fill(data_dir: Path, org_id: int) -> None:
    """Add the cloud rows to the snapshot world's database in `data_dir`, for `org_id`."""
    asyncio.run(_fill(data_dir, org_id))


async def _fill(data_dir: Path, org_id: int) -> None:
    engine = create_engine(server_settings(data_dir).resolved_database_url)
    try:
        async with async_sessionmaker(engine)() as db, db.begin():
            await _world(db, org_id)
    finally:
        await engine.dispose()


def provider_id(name: str, kind: str) -> str:
    """An instance id for instances (`i-` and 17 hex digits, from the name), else the name."""
    if kind != "ec2_instance":
        return name
    return "i-0" + "".join(f"{ord(c) % 16:x}" for c in name * 4)[:16]


async def _world(db: AsyncSession, org_id: int) -> None:
    accounts: dict[str, CloudAccount] = {}
    for name, external in ACCOUNTS:
        account = CloudAccount(
            org_id=org_id, name=name, provider="aws", auth_method="role",
            credentials="sealed", credentials_hint="****9012", default_region="eu-west-1",
            regions=["eu-west-1", "us-east-1"], external_account_id=external, status="ok",
            last_tested_at=at(8), last_discovered_at=at(11, 30),
            created_at=at(days_before=120), updated_at=at(days_before=120),
        )  # fmt: skip
        db.add(account)
        accounts[name] = account
    await db.flush()
    await _resources(db, org_id, accounts)
    await _costs(db, org_id, accounts)
    for name, amount, period, threshold, account_name, service in BUDGETS:
        db.add(
            Budget(
                org_id=org_id, name=name, amount_micros=int(float(amount) * MICROS),
                period=period, alert_threshold_pct=threshold,
                account_id=accounts[account_name].id if account_name else None,
                service=service, created_at=at(days_before=60), updated_at=at(days_before=60),
            )
        )  # fmt: skip


async def _resources(db: AsyncSession, org_id: int, accounts: dict[str, CloudAccount]) -> None:
    for name, kind, state, size, region, account, tags, changed in RESOURCES:
        resource = Resource(
            org_id=org_id, account_id=accounts[account].id, provider="aws",
            provider_id=provider_id(name, kind),
            type=kind, name=name, state=state, size=size, region=region, tags=tags,
            details=WEB_1_METADATA if name == "web-1" else {"Region": region},
            discovered_at=at(days_before=100), last_seen_at=at(11, 30),
            state_changed_at=at(days_before=changed) - timedelta(minutes=3 + changed % 5 * 60),
        )  # fmt: skip
        db.add(resource)
        await db.flush()
        for key, value in tags.items():
            db.add(ResourceTag(resource_id=resource.id, key=key, value=value))
        if name != "web-1":
            continue
        for action, status, actor, before, after, (days, hour), took in WEB_1_ACTIONS:
            requested = at(hour, days_before=days)
            db.add(
                ResourceAction(
                    org_id=org_id, resource_id=resource.id, action=action, status=status,
                    actor=actor, from_state=before, to_state=after,
                    detail="still rebooting after 10 minutes" if status == "failed" else None,
                    requested_at=requested, finished_at=requested + timedelta(seconds=took),
                )
            )  # fmt: skip


async def _costs(db: AsyncSession, org_id: int, accounts: dict[str, CloudAccount]) -> None:
    days = [TODAY - timedelta(days=back) for back in range(COST_DAYS)]
    rows = [
        CostDaily(
            org_id=org_id,
            account_id=accounts[account].id,
            day=day,
            service=service,
            amount_micros=round(daily_cost(day, weekday, weekend, growth) * MICROS),
            estimated=day >= TODAY - timedelta(days=2),
        )
        for service, account, weekday, weekend, growth in SERVICES
        for day in days
    ]
    db.add_all(rows)
    for index, (name, _) in enumerate(ACCOUNTS):
        db.add(
            CostSync(
                org_id=org_id, account_id=accounts[name].id, status="succeeded",
                start_day=date(2025, 12, 1), end_day=TODAY, rows=102 - index * 40,
                api_calls=2 - index, started_at=at(6, 0), finished_at=at(6, 1),
            )
        )  # fmt: skip


class FrozenDatetime(datetime):
    """`datetime` whose now() is CLOUD_MOMENT, for the handlers that read the wall clock."""

    @classmethod
    def now(cls, tz: Any = None) -> FrozenDatetime:
        moment = CLOUD_MOMENT if tz is None else CLOUD_MOMENT.astimezone(tz)
        return cls.fromtimestamp(moment.timestamp(), tz=moment.tzinfo)


@contextmanager
def frozen_server_clock() -> Iterator[None]:
    """The server's "today" for costs and budgets is TODAY while this lasts."""
    import server.budgets.handlers
    import server.costs.queries

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server.costs.queries, "today_utc", lambda: TODAY)
        patch.setattr(server.budgets.handlers, "datetime", FrozenDatetime)
        yield
