"""Several workers sharing the monitors: each due check is claimed in the database, so no
check runs twice in one interval whichever worker takes it, and a worker that stops leaves
its monitors to the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from server.context import EVENTS, SESSIONS
from server.engines.check_writer import ResultWriter
from server.engines.checks import CheckEngine
from server.monitors.models import CheckResult, Monitor
from server.providers.checks import Checker
from server.providers.outbound import TargetPolicy
from tests.conftest import World

INTERVAL = 2  # seconds: short, so a few intervals pass in a test


@pytest.fixture
async def target() -> AsyncIterator[str]:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("/"))


async def add_monitors(client: TestClient, org_id: int, url: str, count: int) -> list[int]:
    async with client.app[SESSIONS]() as db, db.begin():
        monitors = [
            Monitor(org_id=org_id, name=f"site {n}", type="http", url=url,
                    interval_seconds=INTERVAL, next_check_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC))
            for n in range(count)
        ]  # fmt: skip
        db.add_all(monitors)
        await db.flush()
        return [monitor.id for monitor in monitors]


def worker(client: TestClient, checker: Checker) -> tuple[ResultWriter, CheckEngine]:
    sessions = client.app[SESSIONS]
    writer = ResultWriter(sessions, client.app[EVENTS], flush_seconds=0.1)
    return writer, CheckEngine(sessions, writer, checker, claims=True)


async def check_times(client: TestClient) -> dict[int, list[datetime]]:
    async with client.app[SESSIONS]() as db:
        rows = (
            await db.execute(
                select(CheckResult.monitor_id, CheckResult.checked_at).order_by(
                    CheckResult.monitor_id, CheckResult.checked_at
                )
            )
        ).all()
    times: dict[int, list[datetime]] = {}
    for monitor_id, checked_at in rows:
        times.setdefault(monitor_id, []).append(checked_at)
    return times


# The second worker starts with the first, or 1.3 s later, when it loads the monitors on
# times of its own (a monitor just created is due "now" for it): both take a share.
@pytest.mark.parametrize("second_starts_after", [0.0, 1.3])
async def test_two_workers_never_run_one_check_twice_in_an_interval(
    client: TestClient, world: World, target: str, second_starts_after: float
) -> None:
    ids = await add_monitors(client, world.org_a, target, 20)
    async with Checker(policy=TargetPolicy(allow_private=True)) as checker:
        workers = [worker(client, checker) for _ in range(2)]
        for number, (writer, engine) in enumerate(workers):
            await asyncio.sleep(second_starts_after if number else 0.0)
            await writer.start()
            await engine.start()
        try:
            await asyncio.sleep(INTERVAL * 4.5)
        finally:
            for writer, engine in workers:
                await engine.stop()
                await writer.stop()
        ran = [engine.stats.finished for _, engine in workers]
    times = await check_times(client)
    assert set(times) == set(ids)
    for monitor_id, checked in times.items():
        gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(checked)]
        # A claim holds a check for half its interval: nobody runs it again meanwhile.
        assert all(gap >= INTERVAL / 2 - 0.05 for gap in gaps), (monitor_id, gaps)
    assert all(count > 0 for count in ran), ran  # both took a share


async def test_a_worker_that_stops_leaves_its_monitors_to_the_other(
    client: TestClient, world: World, target: str
) -> None:
    ids = await add_monitors(client, world.org_a, target, 10)
    async with Checker(policy=TargetPolicy(allow_private=True)) as checker:
        (writer_a, first), (writer_b, second) = worker(client, checker), worker(client, checker)
        for writer, engine in ((writer_a, first), (writer_b, second)):
            await writer.start()
            await engine.start()
        await asyncio.sleep(INTERVAL * 1.5)
        await first.stop()
        await writer_a.stop()
        stopped_at = datetime.now(UTC)
        await asyncio.sleep(INTERVAL * 3)
        await second.stop()
        await writer_b.stop()
    times = await check_times(client)
    for monitor_id in ids:
        after = [t for t in times[monitor_id] if t > stopped_at]
        assert len(after) >= 2, (monitor_id, times[monitor_id])  # checked on, by the other
