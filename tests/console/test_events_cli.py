"""`upmetr events tail` in a subprocess against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

from aiohttp.test_utils import TestClient

from server.context import EVENTS
from server.events.bus import EVENT_BUS
from tests.conftest import World
from tests.e2e.upmetr_server import OUTSIDE_CHECKOUT, UPMETR


async def start_tail(
    client: TestClient,
    world: World,
    tmp_path: Path,
    *args: str,
) -> asyncio.subprocess.Process:
    created = await client.post(
        "/api/v1/auth/api-keys", json={"name": "tail"}, headers=world.alice.headers
    )
    assert created.status == 201, await created.text()
    env = {
        **os.environ,
        "UPMETR_CONFIG_DIR": str(tmp_path / "config"),
        "UPMETR_URL": str(client.make_url("/")),
        "UPMETR_API_KEY": (await created.json())["key"],
    }
    process = await asyncio.create_subprocess_exec(
        UPMETR, "events", "tail", *args,
        env=env, cwd=OUTSIDE_CHECKOUT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(20):
        while client.app[EVENT_BUS].subscriber_count(world.org_a) < 1:
            await asyncio.sleep(0.05)
    return process


async def read_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 10)
    return line.decode()


async def interrupt(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_events_tail_json_prints_one_object_per_event_and_ctrl_c_ends_it(
    client: TestClient,
    world: World,
    tmp_path: Path,
) -> None:
    process = await start_tail(client, world, tmp_path, "--json")
    client.app[EVENTS].publish(world.org_a, "incident.opened", {"id": 5, "title": "API down"})
    client.app[EVENTS].publish(world.org_b, "incident.opened", {"title": "org B"})
    client.app[EVENTS].publish(world.org_a, "monitor.status", {"id": 2, "status": "down"})
    first, second = json.loads(await read_line(process)), json.loads(await read_line(process))
    assert (first["type"], first["data"]) == ("incident.opened", {"id": 5, "title": "API down"})
    assert (second["type"], second["data"]) == ("monitor.status", {"id": 2, "status": "down"})
    assert second["id"] == first["id"] + 1
    status, stderr = await interrupt(process)
    assert status == 0
    assert "Traceback" not in stderr


async def test_events_tail_filters_by_type_prefix(
    client: TestClient,
    world: World,
    tmp_path: Path,
) -> None:
    process = await start_tail(client, world, tmp_path, "--type", "incident.")
    client.app[EVENTS].publish(world.org_a, "monitor.check", {"id": 1})
    client.app[EVENTS].publish(world.org_a, "incident.resolved", {"id": 9})
    line = await read_line(process)
    assert "incident.resolved" in line and '{"id":9}' in line
    status, _ = await interrupt(process)
    assert status == 0
