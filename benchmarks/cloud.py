"""Resource and cost reads at scale: latency of every `/resources` and `/costs` read, printed.

A child process migrates a fresh data directory and seeds, straight into SQLite, one
Enterprise organization with 20 AWS accounts, 100,000 resources (5 types, 8 regions, 4
states, 3 tags each) and 2 years of daily costs for 50 services x 20 accounts (730,000
rows), plus a few budgets. The server runs in another child (engines off); this process
signs in and times each read, one request at a time, after one warm-up request.

    python benchmarks/cloud.py [--resources 100000] [--days 730] [--samples 30]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from seeding import ARGON2, EMAIL, PASSWORD, database_url, free_port, seed_org, wait_for_port

ACCOUNTS = 20
SERVICES = 50
TYPES = ("ec2_instance", "rds_instance", "lambda_function", "s3_bucket", "load_balancer")
REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
)
STATES = ("running", "stopped", "available", "terminated")
TEAMS = tuple(f"team-{n}" for n in range(12))
ENVS = ("prod", "staging", "dev")
BATCH = 5000


def seed_cloud(data_dir: str, resources: int, days: int) -> None:
    from server.db.migrate import upgrade

    upgrade(database_url(data_dir))
    asyncio.run(_seed_cloud(data_dir, resources, days))
    with sqlite3.connect(Path(data_dir) / "upmetr.db") as connection:
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _seed_cloud(data_dir: str, resources: int, days: int) -> None:
    from sqlalchemy import insert, select

    from server.db.base import Base
    from server.db.engine import create_engine, create_sessionmaker
    from server.keys import load_or_create_keys

    tables = Base.metadata.tables
    engine = create_engine(database_url(data_dir))
    sessions = create_sessionmaker(engine)
    org_id = await seed_org(sessions)
    keys = load_or_create_keys(Path(data_dir))
    credentials = keys.encrypt('{"access_key_id": "AKIABENCH", "secret_access_key": "x"}')
    rng = random.Random(7)
    now = datetime.now(UTC)

    async with sessions() as db, db.begin():
        await db.execute(
            insert(tables["cloud_account"]),
            [
                {
                    "org_id": org_id,
                    "name": f"account-{n:02d}",
                    "provider": "aws",
                    "auth_method": "keys",
                    "credentials": credentials,
                    "credentials_hint": "****ENCH",
                    "default_region": "us-east-1",
                    "regions": list(REGIONS),
                    "external_account_id": f"{100000000000 + n}",
                    "status": "ok",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(ACCOUNTS)
            ],
        )
        account_ids = list(
            (await db.scalars(select(tables["cloud_account"].c.id).order_by("id"))).all()
        )

    for start in range(0, resources, BATCH):
        rows = []
        tags = []
        for index in range(start, min(start + BATCH, resources)):
            kind = TYPES[index % len(TYPES)]
            labels = {
                "env": ENVS[index % 3],
                "team": TEAMS[index % len(TEAMS)],
                "app": f"app-{index % 400}",
            }
            rows.append(
                {
                    "org_id": org_id,
                    "account_id": account_ids[index % ACCOUNTS],
                    "provider": "aws",
                    "provider_id": f"{kind}-{index:07d}",
                    "type": kind,
                    "name": f"{labels['app']}-{kind}-{index}",
                    "state": STATES[rng.randrange(len(STATES))],
                    "size": "t3.micro",
                    "region": REGIONS[index % len(REGIONS)],
                    "tags": labels,
                    "provider_metadata": {"index": index},
                    "discovered_at": now,
                    "last_seen_at": now,
                    "state_changed_at": now,
                }
            )
            tags.extend(
                {"key": key, "value": value, "index": index} for key, value in labels.items()
            )
        async with sessions() as db, db.begin():
            await db.execute(insert(tables["resource"]), rows)
            first = await db.scalar(
                select(tables["resource"].c.id).where(
                    tables["resource"].c.provider_id == rows[0]["provider_id"]
                )
            )
            await db.execute(
                insert(tables["resource_tag"]),
                [
                    {
                        "resource_id": first + tag["index"] - start,
                        "key": tag["key"],
                        "value": tag["value"],
                    }
                    for tag in tags
                ],
            )

    today = now.date()
    services = [f"Amazon Service {n:02d}" for n in range(SERVICES)]
    for account_index, account_id in enumerate(account_ids):
        rows = []
        for back in range(days):
            day = today - timedelta(days=back)
            weekly = 1.0 + 0.2 * (day.weekday() < 5)
            for service_index, service in enumerate(services):
                base = 1 + (service_index * 7 + account_index * 3) % 40
                amount = base * weekly * (1 + 0.0005 * (days - back)) * rng.uniform(0.9, 1.1)
                rows.append(
                    {
                        "org_id": org_id,
                        "account_id": account_id,
                        "day": day,
                        "service": service,
                        "linked_account": "",
                        "amount_micros": int(amount * 1_000_000),
                        "currency": "USD",
                        "estimated": back < 2,
                        "updated_at": now,
                    }
                )
        async with sessions() as db, db.begin():
            for start in range(0, len(rows), BATCH):
                await db.execute(insert(tables["cost_daily"]), rows[start : start + BATCH])

    async with sessions() as db, db.begin():
        await db.execute(
            insert(tables["budget"]),
            [
                {
                    "org_id": org_id,
                    "name": f"budget {n}",
                    "amount_micros": (20_000 + n * 5_000) * 1_000_000,
                    "currency": "USD",
                    "period": ("monthly", "quarterly", "yearly")[n % 3],
                    "alert_threshold_pct": 80,
                    "account_id": account_ids[n] if n % 2 else None,
                    "service": services[n] if n % 4 == 3 else None,
                    "state": "ok",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(10)
            ],
        )
    await engine.dispose()


def serve(data_dir: str, port: int) -> None:
    from aiohttp import web

    from server.app import build_app
    from server.config import Settings

    settings = Settings(
        data_dir=Path(data_dir),
        port=port,
        engines=False,
        rate_limit_user="100000000/minute",
        rate_limit_anon="100000000/minute",
        **ARGON2,  # type: ignore[arg-type]
    )
    web.run_app(build_app(settings), host="127.0.0.1", port=port, print=None, access_log=None)


def reads(first_account: int) -> list[str]:
    month_start = date.today().replace(day=1).isoformat()
    year_ago = (date.today() - timedelta(days=365)).isoformat()
    return [
        "/resources?per_page=50",
        "/resources?type=ec2_instance&per_page=50",
        "/resources?region=eu-west-1&state=running&per_page=50",
        "/resources?tag=env:prod&per_page=50",
        "/resources?tag=team:team-3&type=rds_instance&per_page=50",
        "/resources?q=app-17-&per_page=50",
        f"/resources?account_id={first_account}&sort=-last_seen_at&per_page=50",
        "/resources?page=400&per_page=200",
        "/resources/summary",
        "/resources/types",
        "/resources/50000",
        "/costs/summary",
        "/costs/by-service",
        f"/costs/by-service?start={year_ago}&account_id={first_account}",
        "/costs/by-account",
        f"/costs/by-account?start={year_ago}",
        f"/costs/daily?start={month_start}&group_by=service",
        f"/costs/daily?start={year_ago}&group_by=account",
        f"/costs/daily?start={year_ago}&group_by=service",
        "/costs/forecast?days=30",
        "/costs/forecast?days=90",
        "/costs/sync",
        "/budgets/status",
    ]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(http: httpx.Client, headers: dict[str, str], path: str, samples: int) -> list[float]:
    http.get(path, headers=headers).raise_for_status()  # warm-up
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        response = http.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--samples", type=int, default=30)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = str(Path(scratch) / "data")
        Path(data_dir).mkdir()
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pool.apply(seed_cloud, (data_dir, arguments.resources, arguments.days))
        size_mb = (Path(data_dir) / "upmetr.db").stat().st_size / 1e6
        print(
            f"seeded {arguments.resources} resources and {arguments.days} days x {SERVICES}"
            f" services x {ACCOUNTS} accounts of costs in {time.perf_counter() - started:.0f} s"
            f" ({size_mb:.0f} MB)"
        )
        port = free_port()
        server = multiprocessing.get_context("spawn").Process(
            target=serve, args=(data_dir, port), daemon=True
        )
        server.start()
        wait_for_port(port)
        figures: dict[str, Any] = {}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as http:
            tokens = http.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            accounts = http.get("/cloud-accounts", headers=headers).json()
            first_account = min(account["id"] for account in accounts["items"])
            for path in reads(first_account):
                figures[path] = measure(http, headers, path, arguments.samples)
        server.terminate()

    print(f"\none request at a time, {arguments.samples} samples each (goal: under 50 ms)")
    width = max(len(path) for path in figures)
    for path, times in figures.items():
        p50, p95 = statistics.median(times) * 1000, quantile(times, 0.95) * 1000
        verdict = "" if p95 < 50 else "  over 50 ms"
        print(f"  GET {path:<{width}}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms{verdict}")


if __name__ == "__main__":
    main()
