"""The agent against the real server: created through the API, reporting, spooling while the
server is down, and replaying in order once it is back."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from threading import Event, Thread

from aiohttp import web
from aiohttp.test_utils import TestClient

from agent import __version__ as AGENT_VERSION
from agent.config import Config
from agent.loop import Agent
from server.app import build_app
from server.config import Settings
from tests.conftest import World


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def server_on(settings: Settings, port: int) -> AsyncIterator[None]:
    """A second server on the test's database, on a port of our choosing, so that it can be
    stopped and started again where the agent expects it."""
    runner = web.AppRunner(build_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def when(ts: str) -> datetime:
    """To the second: the server keeps one sample per second of an agent."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).replace(microsecond=0)


async def test_samples_spooled_while_the_server_was_down_arrive_in_order_once_it_is_back(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    settings: Settings,
    tmp_path: Path,
) -> None:
    created = await client.post(
        "/api/v1/agents", json={"name": "web-1"}, headers=world.alice.headers
    )
    assert created.status == 201, await created.text()
    made = await created.json()
    port = free_port()
    agent = Agent(
        Config(
            server=f"http://127.0.0.1:{port}",
            token=made["token"],
            interval=1,
            state_dir=str(tmp_path / "state"),
            docker_socket=str(tmp_path / "no-docker.sock"),
        )
    )
    stop = Event()
    loop = Thread(target=agent.run, args=(stop,))
    try:
        async with server_on(settings, port):
            loop.start()
            await until(lambda: agent.posts >= 2)
        # The server is down: the agent keeps sampling, into its spool.
        await until(lambda: len(agent.spool) >= 3)
        _, spooled = agent.spool.oldest()
        async with server_on(settings, port):
            await until(lambda: len(agent.spool) == 0)
            stop.set()
            await asyncio.to_thread(loop.join, 10)
    finally:
        stop.set()
        if loop.is_alive():
            await asyncio.to_thread(loop.join, 10)

    series = await client.get(
        f"/api/v1/metrics/agents/{made['id']}",
        params={"range": "1h", "metrics": "cpu_pct"},
        headers=world.alice.headers,
    )
    assert series.status == 200, await series.text()
    (cpu,) = (await series.json())["series"]
    stored = [when(point["ts"]) for point in cpu["points"]]
    assert stored == sorted(stored)
    spooled_times = [when(sample["ts"]) for sample in spooled]
    assert set(spooled_times) <= set(stored), "a spooled sample is missing"
    # Samples before the outage, the spooled ones, and those after: nothing lost between.
    assert len(stored) >= len(spooled_times) + 2

    shown = await client.get(f"/api/v1/agents/{made['id']}", headers=world.alice.headers)
    host = await shown.json()
    assert host["status"] == "online"
    assert (host["hostname"], host["agent_version"]) == (agent.hostname, AGENT_VERSION)
    assert host["interval_seconds"] == 1
    assert host["facts"]["cpu_count"] == agent.facts["cpu_count"]


def once(url: str, token: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "UPMETR_AGENT_SERVER": url,
        "UPMETR_AGENT_TOKEN": token,
        "UPMETR_AGENT_DOCKER_SOCKET": str(tmp_path / "no-docker.sock"),
    }
    return subprocess.run(
        [sys.executable, "-m", "agent", "once"],
        env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path,
    )  # fmt: skip


async def test_once_is_accepted_by_the_server_and_refused_after_the_token_is_regenerated(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    tmp_path: Path,
) -> None:
    created = await client.post(
        "/api/v1/agents", json={"name": "db-1"}, headers=world.alice.headers
    )
    made = await created.json()
    url = str(client.make_url("")).rstrip("/")

    accepted = await asyncio.to_thread(once, url, made["token"], tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith(f"HTTP 202 from {url}")
    assert '"accepted": 1' in accepted.stdout

    regenerated = await client.post(
        f"/api/v1/agents/{made['id']}/regenerate-token", headers=world.alice.headers
    )
    assert regenerated.status == 200, await regenerated.text()
    refused = await asyncio.to_thread(once, url, made["token"], tmp_path)
    assert refused.returncode == 1
    assert "the server refused the agent token (HTTP 401" in refused.stderr
    assert made["token"] not in refused.stderr
