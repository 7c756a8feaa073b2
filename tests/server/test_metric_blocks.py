"""Sealed metrics: periods past change packed one row each, read back exactly as the rows
they were, a late sample kept and rolled up, blocks pruned past retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.context import RUNTIME
from server.engines.agent_watch import AgentEngine
from server.metrics import blocks, packing, rollups
from server.metrics.models import agent_rollup, agent_sample, metric_block, series_sample
from tests.conftest import World
from tests.server.agent_calls import Client, add_agent, post, sample
from tests.server.api_calls import call

values = st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62))


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=1000), values, values),
        max_size=300,
    )
)
def test_packed_rows_unpack_to_the_same_rows_whole_and_by_column(
    steps: list[tuple[int, int | None, int | None]],
) -> None:
    rows, at = [], 1_700_000_000
    for step, first, second in steps:
        at += step
        rows.append((at, first, second))
    data = packing.pack(rows)
    assert packing.unpack(data) == rows
    assert packing.unpack(data, [2]) == [(at, second) for at, _, second in rows]
    assert packing.unpack(data, []) == [(row[0],) for row in rows]


async def _history(client: Client, agent: dict[str, Any], end: datetime) -> None:
    """Ten hours of samples a minute apart up to `end`, two mounts and a container."""
    samples = []
    for minute in range(600):
        at = end - timedelta(minutes=minute)
        samples.append(
            sample(at, cpu=(minute * 37) % 100, mem=20 + minute % 7,
                   disks={"/": 40 + minute // 100, "/data": 61.5})
        )  # fmt: skip
    for start in range(0, 600, 200):
        containers = [
            {"name": "db", "state": "running", "cpu_pct": 3.5, "mem_bytes": 2**20, "mem_pct": 1.5}
        ]
        status, _ = await post(client, agent["token"], samples[start : start + 200],
                               containers=containers)  # fmt: skip
        assert status == 202


async def _reads(client: Client, world: World, agent_id: int) -> list[Any]:
    """What a member reads of the agent's history: each range past the last hour (which is
    never sealed, and whose start moves with the clock), the disks, the container."""
    found = []
    for range_ in ("24h", "7d", "30d"):
        _, series = await call(
            client, world.bob, "GET",
            f"/metrics/agents/{agent_id}?range={range_}&metrics=cpu_pct,mem_pct,disk_pct,load1",
        )  # fmt: skip
        found.append(series)
        _, container = await call(
            client, world.bob, "GET", f"/metrics/agents/{agent_id}/containers/db?range={range_}"
        )
        found.append(container)
    return found


async def _count(db: AsyncSession, table: Any) -> int:
    async with db.begin():
        return int(await db.scalar(select(func.count()).select_from(table)) or 0)


async def _seal_all(db: AsyncSession, now: int) -> int:
    sealed, after = 0, 0
    while True:
        async with db.begin():
            rows, after = await blocks.seal(db, now, after)
        sealed += rows
        if after == 0:
            return sealed


async def _five_minutes(db: AsyncSession, agent_id: int, bucket: int) -> tuple[Any, ...]:
    """A host's 5-minute bucket: its sample count and its highest cpu (scaled)."""
    async with db.begin():
        found = await blocks.read(db, blocks.HOST_FIVES, agent_id, bucket, bucket, ["n", "cpu_max"])
    return found[""][0][1:]


async def _roll_up(db: AsyncSession, now: int) -> None:
    async with db.begin():
        await rollups.roll_up(db, now)


async def test_sealing_packs_past_periods_and_every_read_stays_the_same(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    now = int(datetime.now(UTC).timestamp())
    await _history(client, agent, datetime.now(UTC) - timedelta(minutes=1))
    await _roll_up(db, now)
    before = await _reads(client, world, agent["id"])
    rows_before = await _count(db, agent_sample)
    assert await _seal_all(db, now) > 0
    # Whole hours ended two hours ago are packed; the newest hours stay rows.
    assert 0 < await _count(db, agent_sample) < rows_before
    assert await _count(db, agent_sample) <= 4 * 60
    async with db.begin():
        resolutions = set(await db.scalars(select(metric_block.c.resolution).distinct()))
    assert 0 in resolutions
    assert await _reads(client, world, agent["id"]) == before
    assert await _seal_all(db, now) == 0  # nothing more is due


async def test_rollups_of_ended_days_are_sealed_and_read_the_same(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    end = datetime.now(UTC) - timedelta(days=3)
    await _history(client, agent, end)
    now = int(datetime.now(UTC).timestamp())
    await _roll_up(db, now)
    before = await _reads(client, world, agent["id"])
    rollup_rows = await _count(db, agent_rollup)
    await _seal_all(db, now)
    assert await _count(db, agent_rollup) < rollup_rows
    async with db.begin():
        resolutions = set(await db.scalars(select(metric_block.c.resolution).distinct()))
    assert {0, 300} <= resolutions
    assert await _reads(client, world, agent["id"]) == before


async def test_a_late_sample_for_a_sealed_hour_is_kept_deduplicated_and_rolled_up(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    await _history(client, agent, end)
    now = int(datetime.now(UTC).timestamp())
    await _roll_up(db, now)
    await _seal_all(db, now)
    sealed_at = end - timedelta(hours=5)
    bucket = int(sealed_at.timestamp()) // 300 * 300
    n, _ = await _five_minutes(db, agent["id"], bucket)
    # A replay of a sealed sample is a duplicate; a new one in a sealed hour is stored.
    replay = sample(sealed_at, cpu=(300 * 37) % 100)
    status, answer = await post(client, agent["token"], [replay])
    assert (status, answer["accepted"], answer["duplicates"]) == (202, 0, 1)
    late = sample(sealed_at + timedelta(seconds=5), cpu=99.5)
    status, answer = await post(client, agent["token"], [late])
    assert (status, answer["accepted"], answer["late"]) == (202, 1, 1)
    await _roll_up(db, now)  # its hour goes back to rows, and its buckets are computed again
    assert await _five_minutes(db, agent["id"], bucket) == (n + 1, 9950)
    _, found = await call(
        client, world.bob, "GET", f"/metrics/agents/{agent['id']}?range=24h&metrics=cpu_pct"
    )
    assert max(point["max"] for point in found["series"][0]["points"]) == 99.5
    before = await _reads(client, world, agent["id"])
    assert await _seal_all(db, now) > 0  # sealed again, the late sample with its hour
    assert await _reads(client, world, agent["id"]) == before


async def test_blocks_past_retention_are_pruned_and_newer_ones_kept(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    await _history(client, agent, datetime.now(UTC) - timedelta(days=2))
    now = int(datetime.now(UTC).timestamp())
    await _roll_up(db, now)
    await _seal_all(db, now)
    async with db.begin():
        raw_blocks = await db.scalar(select(func.count()).where(metric_block.c.resolution == 0))
        assert raw_blocks
        await rollups.prune(db, now, 0)
        kept = dict(
            (await db.execute(
                select(metric_block.c.resolution, func.count()).group_by(metric_block.c.resolution)
            )).all()
        )  # fmt: skip
    assert 0 not in kept and kept[300] > 0  # raw is kept a day, 5-minute rollups 30 days
    assert await _count(db, series_sample) == 0
    _, found = await call(
        client, world.bob, "GET", f"/metrics/agents/{agent['id']}?range=7d&metrics=cpu_pct"
    )
    assert len(found["series"][0]["points"]) > 10


async def test_the_agents_engine_seals_once_an_hour_is_due_and_then_rests(
    client: Client, world: World, db: AsyncSession
) -> None:
    agent = await add_agent(client, world.alice)
    await _history(client, agent, datetime.now(UTC) - timedelta(hours=3))
    now = datetime.now(UTC)
    engine = AgentEngine(client.app[RUNTIME], clock=lambda: now)
    steps = 0
    while await engine.run_once():
        steps += 1
        assert steps < 50
    assert await _count(db, metric_block) > 0
    assert await _count(db, agent_sample) < 60  # rows only from two hours ago, in whole hours
    sealed_rows = await _count(db, agent_sample)
    # A late sample: its rollup takes its hours back to rows, and they wait for the next walk.
    await post(client, agent["token"], [sample(now - timedelta(hours=5, seconds=5))])
    while await engine.run_once():
        pass
    assert await _count(db, agent_sample) > sealed_rows
    now += timedelta(hours=1)
    while await engine.run_once():
        pass
    async with db.begin():
        assert not await db.scalar(
            select(func.count()).where(agent_sample.c.ts < int(now.timestamp()) - 3 * 3600)
        )
