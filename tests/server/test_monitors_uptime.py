"""Uptime math on hand-made rollup rows, and the read endpoints that use it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.monitors import uptime
from server.monitors.models import CheckResult, MonitorRollup
from shared.api.common import API_PREFIX
from tests.conftest import World


@dataclass
class Row:
    up: int = 0
    down: int = 0
    degraded: int = 0
    maintenance: int = 0
    unknown: int = 0
    avg_ms: float | None = None
    measured: int = 0


def test_uptime_counts_degraded_as_up_and_ignores_maintenance_and_unknown() -> None:
    rows = [Row(up=90, down=5, degraded=5), Row(maintenance=60), Row(unknown=30)]
    totals = uptime.total(rows)
    assert totals.uptime_pct == 95.0
    assert totals.checks == 190 and totals.counted == 100


def test_a_period_with_only_maintenance_has_no_uptime_rather_than_100() -> None:
    assert uptime.uptime_pct(uptime.total([Row(maintenance=10), Row(unknown=3)])) is None
    assert uptime.uptime_pct(uptime.total([])) is None


def test_average_latency_weighs_each_bucket_by_its_checks() -> None:
    slow, fast = Row(up=1, avg_ms=500.0, measured=1), Row(up=3, avg_ms=100.0, measured=3)
    totals = uptime.total([fast, slow, Row(maintenance=5)])
    assert totals.avg_ms == 200.0


def test_average_latency_weighs_by_checks_that_carried_a_latency_not_by_failures() -> None:
    # The first hour: 1 answer at 100 ms and 9 refused connections (no latency at all).
    refused = Row(up=1, down=9, avg_ms=100.0, measured=1)
    totals = uptime.total([refused, Row(up=1, avg_ms=300.0, measured=1)])
    assert totals.avg_ms == 200.0
    assert totals.measured == 2


def test_downtime_is_one_interval_per_failed_check() -> None:
    assert uptime.downtime_seconds(Row(down=3, up=10), 60) == 180


def test_a_24h_span_of_hour_buckets_is_the_current_hour_and_23_before() -> None:
    now = datetime(2026, 5, 1, 12, 40, tzinfo=UTC)
    assert uptime.window_start(now, timedelta(hours=24), "hour") == datetime(
        2026, 4, 30, 13, tzinfo=UTC
    )


async def make_monitor(client: TestClient, world: World) -> int:
    response = await client.post(
        f"{API_PREFIX}/monitors",
        json={
            "name": "Site",
            "type": "http",
            "url": "https://example.com/",
            "interval_seconds": 60,
        },
        headers=world.alice.headers,
    )
    assert response.status == 201
    monitor_id: int = (await response.json())["id"]
    return monitor_id


def rollup(monitor_id: int, period: str, start: datetime, **counts: float) -> MonitorRollup:
    return MonitorRollup(monitor_id=monitor_id, period=period, bucket_start=start, **counts)


async def test_the_monitor_shows_uptime_from_its_rollups(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    monitor_id = await make_monitor(client, world)
    hour = uptime.bucket_start(datetime.now(UTC), "hour")
    today = uptime.bucket_start(datetime.now(UTC), "day")
    async with db.begin():
        db.add_all(
            [
                rollup(monitor_id, "hour", hour, up=59, down=1),
                rollup(monitor_id, "hour", hour - timedelta(hours=30), down=60),  # 7d only
                rollup(monitor_id, "day", today, up=59, down=1, maintenance=1000),
                rollup(monitor_id, "day", today - timedelta(days=40), down=500),  # too old
            ]
        )
    monitor = await (
        await client.get(f"{API_PREFIX}/monitors/{monitor_id}", headers=world.bob.headers)
    ).json()
    assert monitor["uptime_24h"] == round(100 * 59 / 60, 3)
    assert monitor["uptime_7d"] == round(100 * 59 / 120, 3)
    assert monitor["uptime_30d"] == round(100 * 59 / 60, 3)
    listed = await (await client.get(f"{API_PREFIX}/monitors", headers=world.bob.headers)).json()
    assert listed["items"][0]["uptime_24h"] == monitor["uptime_24h"]


async def test_metrics_pick_the_rollup_for_the_range(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    monitor_id = await make_monitor(client, world)
    minute = uptime.bucket_start(datetime.now(UTC), "minute")
    async with db.begin():
        db.add_all(
            [
                rollup(
                    monitor_id,
                    "minute",
                    minute - timedelta(minutes=2),
                    up=1,
                    min_ms=80,
                    avg_ms=80.0,
                    measured=1,
                    max_ms=80,
                    p95_ms=80,
                ),
                rollup(
                    monitor_id,
                    "minute",
                    minute - timedelta(minutes=1),
                    down=1,
                    min_ms=900,
                    avg_ms=900.0,
                    measured=1,
                    max_ms=900,
                    p95_ms=900,
                ),
                rollup(monitor_id, "minute", minute - timedelta(hours=2), down=1),  # outside 1h
                rollup(monitor_id, "hour", uptime.bucket_start(minute, "hour"), up=50, degraded=10),
            ]
        )
    url = f"{API_PREFIX}/monitors/{monitor_id}/metrics"
    hourly = await (await client.get(url + "?range=1h", headers=world.bob.headers)).json()
    assert hourly["period"] == "minute" and len(hourly["points"]) == 2
    assert hourly["uptime_pct"] == 50.0 and hourly["checks"] == 2
    assert hourly["avg_response_ms"] == 490.0
    assert hourly["points"][1]["p95_ms"] == 900
    daily = await (await client.get(url + "?range=24h", headers=world.bob.headers)).json()
    assert daily["period"] == "hour" and daily["uptime_pct"] == 100.0 and daily["degraded"] == 10
    bad = await client.get(url + "?range=1y", headers=world.bob.headers)
    assert bad.status == 400 and "range" in (await bad.json())["detail"]


async def test_daily_uptime_lists_every_day_with_downtime(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    monitor_id = await make_monitor(client, world)
    today = uptime.bucket_start(datetime.now(UTC), "day")
    async with db.begin():
        db.add(
            rollup(
                monitor_id,
                "day",
                today - timedelta(days=1),
                up=1430,
                down=10,
                maintenance=60,
                avg_ms=120.0,
                measured=1440,
            )
        )
    response = await client.get(
        f"{API_PREFIX}/monitors/{monitor_id}/uptime/daily?days=7", headers=world.bob.headers
    )
    days = await response.json()
    assert len(days) == 7 and days[-1]["date"] == today.date().isoformat()
    yesterday = days[-2]
    assert yesterday["checks"] == 1500 and yesterday["failures"] == 10
    assert yesterday["downtime_seconds"] == 600
    assert yesterday["uptime_pct"] == round(100 * 1430 / 1440, 3)
    assert yesterday["avg_response_ms"] == 120.0
    assert days[0]["uptime_pct"] is None and days[0]["checks"] == 0


async def test_checks_list_recent_raw_results_newest_first(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    monitor_id = await make_monitor(client, world)
    now = datetime.now(UTC)
    async with db.begin():
        db.add_all(
            [
                CheckResult(
                    monitor_id=monitor_id,
                    checked_at=now - timedelta(minutes=i),
                    status="down" if i == 1 else "up",
                    response_time_ms=100 + i,
                    status_code=500 if i == 1 else 200,
                )
                for i in range(5)
            ]
        )
    url = f"{API_PREFIX}/monitors/{monitor_id}/checks"
    page = await (await client.get(url + "?per_page=2", headers=world.bob.headers)).json()
    assert page["total"] == 5 and [c["response_time_ms"] for c in page["items"]] == [100, 101]
    down = await (await client.get(url + "?status=down", headers=world.bob.headers)).json()
    assert [c["status_code"] for c in down["items"]] == [500]
