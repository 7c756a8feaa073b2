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
from shared.api.events import OtherEvent
from tests.conftest import World
from tests.console.ssh_world import SSH_USER, ssh_host_in
from tests.e2e.upmetr_server import OUTSIDE_CHECKOUT, UPMETR


async def start_tail(
    client: TestClient,
    world: World,
    tmp_path: Path,
    *args: str,
    **env: str,
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
        **env,
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


async def read_line(process: asyncio.subprocess.Process, within: float = 10) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), within)
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
    client.app[EVENTS].publish(
        world.org_a, OtherEvent.of("incident.opened", {"id": 5, "title": "API down"})
    )
    client.app[EVENTS].publish(world.org_b, OtherEvent.of("incident.opened", {"title": "org B"}))
    client.app[EVENTS].publish(
        world.org_a, OtherEvent.of("monitor.status", {"id": 2, "status": "down"})
    )
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
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("monitor.check", {"id": 1}))
    client.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.resolved", {"id": 9}))
    line = await read_line(process)
    assert "incident.resolved" in line and '{"id":9}' in line
    status, _ = await interrupt(process)
    assert status == 0


async def test_events_tail_over_ssh_comes_back_after_the_connection_drops_and_misses_no_event(
    client: TestClient,
    world: World,
    tmp_path: Path,
) -> None:
    bus = client.app[EVENT_BUS]
    (tmp_path / "ssh").mkdir()
    with ssh_host_in(tmp_path / "ssh") as ssh_host:
        process = await start_tail(
            client, world, tmp_path, "--json",
            HOME=str(tmp_path),
            UPMETR_SSH=f"{SSH_USER}@127.0.0.1:{ssh_host.port}",
            UPMETR_SSH_REMOTE_PORT=str(client.port),
            UPMETR_SSH_IDENTITY=str(ssh_host.identity),
            UPMETR_SSH_KNOWN_HOSTS=str(ssh_host.known_hosts),
            SSH_AUTH_SOCK="",
        )  # fmt: skip
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.opened", {"id": 1}))
        before = json.loads(await read_line(process))

        ssh_host.stop_listening()
        ssh_host.drop_connections()  # as when sshd's process for the session is killed
        async with asyncio.timeout(10):
            while bus.subscriber_count(world.org_a) > 0:
                await asyncio.sleep(0.05)
        client.app[EVENTS].publish(world.org_a, OtherEvent.of("incident.resolved", {"id": 1}))
        await asyncio.sleep(1)  # the tail tries and is refused meanwhile
        ssh_host.start_listening()

        meanwhile = json.loads(await read_line(process, within=30))
        client.app[EVENTS].publish(
            world.org_a, OtherEvent.of("monitor.status", {"id": 2, "status": "up"})
        )
        after = json.loads(await read_line(process))
        status, stderr = await interrupt(process)

    assert (meanwhile["type"], meanwhile["data"]) == ("incident.resolved", {"id": 1})
    assert [meanwhile["id"], after["id"]] == [before["id"] + 1, before["id"] + 2]
    assert ssh_host.connections_made >= 2
    assert status == 0
    assert "Connection to the server lost; reconnecting..." in stderr
    assert f"Reconnected; resuming after event {before['id']}." in stderr
    assert "Traceback" not in stderr
