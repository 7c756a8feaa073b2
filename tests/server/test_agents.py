"""Infra agents: tokens shown once and refused once regenerated, samples stored once per
`ts`, late samples filling history, online and offline with incidents, metrics by range."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents import presence
from server.config import Settings
from server.incidents.models import Incident
from server.metrics import rollups
from server.metrics.models import agent_rollup, series_rollup
from server.notifications.models import NotificationEvent
from server.service_context import Context
from tests import postgres
from tests.conftest import World
from tests.server.agent_calls import Client, add_agent, post, sample, series_of
from tests.server.api_calls import call


async def test_an_agent_token_is_shown_once_and_reads_show_its_hint(
    client: Client, world: World
) -> None:
    created = await add_agent(client, world.alice, tags=["db"])
    assert created["token"].startswith("upa_")
    assert created["token_hint"] == f"****{created['token'][-4:]}"
    assert created["status"] == "pending"
    status, read = await call(client, world.bob, "GET", f"/agents/{created['id']}")
    assert status == 200 and "token" not in read and read["token_hint"] == created["token_hint"]
    status, _ = await call(client, world.bob, "POST", "/agents", {"name": "b"})
    assert status == 403


async def test_samples_are_stored_once_and_the_newest_is_the_latest(
    client: Client, world: World
) -> None:
    agent = await add_agent(client, world.alice)
    samples = series_of([10.0, 20.0, 30.0])
    status, answer = await post(client, agent["token"], samples)
    assert (status, answer) == (202, {"accepted": 3, "duplicates": 0, "late": 0})
    status, answer = await post(client, agent["token"], samples)
    assert (status, answer) == (202, {"accepted": 0, "duplicates": 3, "late": 0})
    _, latest = await call(client, world.bob, "GET", f"/metrics/agents/{agent['id']}/latest")
    assert latest["status"] == "online" and latest["sample"]["cpu_pct"] == 30.0
    _, read = await call(client, world.bob, "GET", f"/agents/{agent['id']}")
    assert (read["hostname"], read["os"], read["interval_seconds"]) == ("web-1", "Linux 6.1", 10)
    _, found = await call(client, world.bob, "GET", f"/metrics/agents/{agent['id']}?range=1h")
    cpu = next(series for series in found["series"] if series["metric"] == "cpu_pct")
    assert [point["avg"] for point in cpu["points"]] == [10.0, 20.0, 30.0]
    disks = [series for series in found["series"] if series["metric"] == "disk_pct"]
    assert [(series["label"], len(series["points"])) for series in disks] == [("/", 3)]


async def test_spooled_samples_fill_history_but_are_late(client: Client, world: World) -> None:
    agent = await add_agent(client, world.alice)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    spooled = series_of([50.0, 60.0], end=an_hour_ago)
    status, answer = await post(client, agent["token"], [*spooled, sample(cpu=5.0)])
    assert (status, answer) == (202, {"accepted": 3, "duplicates": 0, "late": 2})
    _, found = await call(
        client, world.bob, "GET", f"/metrics/agents/{agent['id']}?range=24h&metrics=cpu_pct"
    )
    assert len(found["series"][0]["points"]) >= 2
    assert found["resolution_seconds"] == 300


async def test_a_regenerated_token_refuses_the_old_one_at_once(
    client: Client, world: World
) -> None:
    agent = await add_agent(client, world.alice)
    status, renewed = await call(
        client, world.alice, "POST", f"/agents/{agent['id']}/regenerate-token"
    )
    assert status == 200 and renewed["token"] != agent["token"]
    assert (await post(client, agent["token"], [sample()]))[0] == 401
    assert (await post(client, renewed["token"], [sample()]))[0] == 202


async def test_tokens_are_good_for_their_own_routes_only(client: Client, world: World) -> None:
    agent = await add_agent(client, world.alice)
    status, answer = await post(client, world.alice.access_token, [sample()])
    assert status == 401 and "agent token" in answer["detail"]
    response = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {agent['token']}"}
    )
    assert response.status == 401
    assert (await post(client, "upa_not-a-token", [sample()]))[0] == 401


async def test_a_sample_from_the_future_is_refused_whole(client: Client, world: World) -> None:
    agent = await add_agent(client, world.alice)
    ahead = datetime.now(UTC) + timedelta(hours=2)
    status, answer = await post(client, agent["token"], [sample(), sample(ahead)])
    assert status == 400 and "clock" in answer["detail"]
    _, latest = await call(client, world.bob, "GET", f"/metrics/agents/{agent['id']}/latest")
    assert latest["sample"] is None and latest["status"] == "pending"


async def test_a_silent_agent_goes_offline_with_an_incident_and_back_online(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    await post(client, agent["token"], [sample()])
    async with db.begin():
        soon = await presence.go_offline_due(
            Context(db=db), datetime.now(UTC) + timedelta(seconds=20)
        )
        later = await presence.go_offline_due(
            Context(db=db), datetime.now(UTC) + timedelta(seconds=31)
        )
    assert (soon, later) == (0, 1)
    _, read = await call(client, world.bob, "GET", f"/agents/{agent['id']}")
    assert read["status"] == "offline"
    _, found = await call(client, world.bob, "GET", f"/incidents?agent_id={agent['id']}")
    assert [i["trigger_type"] for i in found["items"]] == ["agent_offline"]
    assert found["items"][0]["status"] == "open"
    await post(client, agent["token"], [sample()])
    _, found = await call(client, world.bob, "GET", f"/incidents?agent_id={agent['id']}")
    assert found["items"][0]["status"] == "resolved"
    events = await db.scalars(select(NotificationEvent.type).order_by(NotificationEvent.id))
    assert [e for e in events if e.startswith("agent.")] == ["agent.offline", "agent.online"]


async def test_containers_replace_the_last_report_and_keep_a_series(
    client: Client, world: World
) -> None:
    agent = await add_agent(client, world.alice)
    web = {"name": "web", "image": "nginx:1", "state": "running", "cpu_pct": 12.5,
           "mem_bytes": 2048, "mem_pct": 3.0}  # fmt: skip
    db_box = {"name": "db", "image": "postgres:16", "state": "exited"}
    earlier = datetime.now(UTC) - timedelta(seconds=10)
    await post(client, agent["token"], [sample(earlier)], containers=[web, db_box])
    await post(client, agent["token"], [sample()], containers=[web])
    base = f"/metrics/agents/{agent['id']}/containers"
    _, containers = await call(client, world.bob, "GET", base)
    assert [(c["name"], c["cpu_pct"]) for c in containers] == [("web", 12.5)]
    _, series = await call(client, world.bob, "GET", f"{base}/web?range=1h")
    cpu = next(s for s in series["series"] if s["metric"] == "container_cpu_pct")
    assert [p["avg"] for p in cpu["points"]] == [12.5, 12.5]
    assert (await call(client, world.bob, "GET", f"{base}/nope"))[0] == 404
    later = datetime.now(UTC) + timedelta(seconds=1)
    await post(client, agent["token"], [sample(later)])  # none now: Docker stopped
    assert (await call(client, world.bob, "GET", base))[1] == []
    await post(client, agent["token"], [sample(later + timedelta(seconds=1))], containers=[db_box])
    assert [c["name"] for c in (await call(client, world.bob, "GET", base))[1]] == ["db"]


async def test_rollups_are_computed_again_when_a_late_sample_lands(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    bucket = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    await post(client, agent["token"], [sample(bucket, cpu=10.0)])
    now = int(datetime.now(UTC).timestamp())
    async with db.begin():
        assert await rollups.roll_up(db, now) == 2  # 5-minute and hourly
    await post(client, agent["token"], [sample(bucket + timedelta(seconds=60), cpu=30.0)])
    async with db.begin():
        assert await rollups.roll_up(db, now) == 2  # 5-minute and hourly
    rows = (await db.execute(
        select(agent_rollup.c.resolution, agent_rollup.c.n, agent_rollup.c.cpu_avg,
               agent_rollup.c.cpu_max).where(agent_rollup.c.agent_id == agent["id"])
        .order_by(agent_rollup.c.resolution)
    )).all()  # fmt: skip
    assert [tuple(row) for row in rows] == [(300, 2, 2000, 3000), (3600, 2, 2000, 3000)]
    disks = await db.scalar(select(func.count()).select_from(series_rollup))
    assert disks == 2  # the mount's 5-minute and hourly buckets
    _, found = await call(
        client, world.bob, "GET", f"/metrics/agents/{agent['id']}?range=7d&metrics=cpu_pct"
    )
    assert [p["max"] for p in found["series"][0]["points"]] == [30.0]


async def test_deleting_an_agent_resolves_its_incidents(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    await post(client, agent["token"], [sample()])
    async with db.begin():
        await presence.go_offline_due(Context(db=db), datetime.now(UTC) + timedelta(minutes=5))
    status, _ = await call(client, world.alice, "DELETE", f"/agents/{agent['id']}")
    assert status == 204
    statuses = await db.scalars(select(Incident.status))
    assert list(statuses) == ["resolved"]
    assert (await post(client, agent["token"], [sample()]))[0] == 401


async def test_the_fleet_summary_counts_and_ranks_hosts(client: Client, world: World) -> None:
    busy = await add_agent(client, world.alice, "busy")
    idle = await add_agent(client, world.alice, "idle")
    await add_agent(client, world.alice, "new")
    await post(client, busy["token"], [sample(cpu=90.0, disks={"/": 70.0, "/data": 95.0})])
    await post(client, idle["token"], [sample(cpu=10.0)])
    status, summary = await call(client, world.bob, "GET", "/metrics/summary")
    assert status == 200
    assert (summary["total"], summary["online"], summary["pending"]) == (3, 2, 1)
    assert summary["avg_cpu_pct"] == 50.0
    assert [(h["name"], h["value"]) for h in summary["top_disk"]] == [
        ("busy", 95.0),
        ("idle", 40.0),
    ]
    _, carols = await call(client, world.carol, "GET", "/metrics/summary")
    assert carols["total"] == 0


async def test_the_install_script_names_this_server_and_its_wheel_is_served(
    client: Client, world: World
) -> None:
    agent = await add_agent(client, world.alice)
    response = await client.get(
        f"/api/v1/agents/{agent['id']}/install-script", headers=world.bob.headers
    )
    assert response.status == 200
    assert response.content_type == "text/x-shellscript"
    script = await response.text()
    origin = str(client.make_url("")).rstrip("/")
    assert script.startswith("#!/bin/sh") and agent["token"] not in script
    assert f"SERVER_URL={origin}\n" in script
    wheel_line = next(line for line in script.splitlines() if line.startswith("WHEEL_URL="))
    name = wheel_line.rsplit('"', 1)[1]
    assert name.startswith("upmetr_agent-") and name.endswith(".whl")
    wheel = await client.get(f"/agent/{name}")
    assert wheel.status == 200 and (await wheel.read())[:2] == b"PK"  # a zip
    assert (await client.get("/agent/upmetr_agent-0.0.0-py3-none-any.whl")).status == 404
    other = await client.get(
        f"/api/v1/agents/{agent['id']}/install-script", headers=world.carol.headers
    )
    assert other.status == 404


async def test_raw_samples_go_after_a_day_and_their_rollups_stay(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    await post(client, agent["token"], [sample(two_days_ago), sample()])
    now = int(datetime.now(UTC).timestamp())
    async with db.begin():
        await rollups.roll_up(db, now)
        deleted, last = await rollups.prune(db, now, 0)
    assert (deleted, last) == (2, agent["id"])  # the old host row and its mount's row
    async with db.begin():
        kept = await db.scalar(select(func.count()).select_from(agent_rollup))
        assert kept == 2  # the old sample's buckets; the new one's have not settled yet
        assert await rollups.prune(db, now, agent["id"]) == (0, 0)  # the walk is over


@pytest.mark.skipif(postgres.enabled(), reason="holds the write lock of the SQLite file")
async def test_members_reads_are_answered_while_a_fleets_posts_wait_for_the_write_lock(
    client: Client, world: World, settings: Settings
) -> None:
    """Posts held up by another writer (the worker) wait for their group's transaction
    holding no pooled connection of their own, so members' reads still find one."""
    agent = await add_agent(client, world.alice)
    start = datetime.now(UTC) - timedelta(minutes=5)
    locker = sqlite3.connect(settings.data_dir / "upmetr.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        posts = [
            asyncio.create_task(
                post(client, agent["token"], [sample(start + timedelta(seconds=i))])
            )
            for i in range(30)
        ]
        await asyncio.sleep(0.3)  # the posts are in, waiting for the lock
        status, _ = await asyncio.wait_for(call(client, world.bob, "GET", "/agents"), 3)
        assert status == 200
        assert not any(task.done() for task in posts)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert [status for status, _ in await asyncio.gather(*posts)] == [202] * 30
