"""A lost SSH connection comes back by itself: the tunnel reconnects behind the same local URL.

The SSH host (tests/console/ssh_world.py) ends its connections as killing their sshd processes
does, and stops and starts listening as sshd does; the API server is a real one behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.app import UpmetrApp
from console.cli.session import SSH_KNOWN_HOSTS_ENV
from console.config import Credentials
from console.connection import SshTarget, ssh_tunnel, ssh_url
from console.launch import console_route
from shared.client import Client
from tests.console.console_harness import table_text, until
from tests.console.ssh_world import SSH_USER, SshHost, ssh_host_in
from tests.e2e.upmetr_server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OUTSIDE_CHECKOUT,
    UPMETR,
    ServerProcess,
    free_port,
)
from tests.terminal import Terminal


@pytest.fixture
def ssh_host(tmp_path: Path) -> Iterator[SshHost]:
    with ssh_host_in(tmp_path) as host:
        yield host


class Network:
    """A TCP relay to the SSH host whose open connections can go silent: bytes are dropped
    and nothing closes, as when a NAT forgets a connection or a laptop changes networks.
    Connections made after that go through."""

    def __init__(self, to_port: int) -> None:
        self.to_port = to_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._silent: set[asyncio.StreamWriter] = set()
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def go_silent(self) -> None:
        self._silent |= self._open

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._open:
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        far_reader, far_writer = await asyncio.open_connection("127.0.0.1", self.to_port)
        self._open |= {writer, far_writer}

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                if sink not in self._silent:
                    sink.write(data)
                    await sink.drain()

        with contextlib.suppress(OSError):
            await asyncio.gather(copy(reader, far_writer), copy(far_reader, writer))
        writer.close()
        far_writer.close()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url) as client:
        client.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield client


async def health(http: httpx.AsyncClient, url: str) -> httpx.Response:
    return await http.get(f"{url}/health")


async def seconds_until_it_answers(http: httpx.AsyncClient, url: str, within: float) -> float:
    """How long until `url` answers /health again: a request on its way as the connection
    drops fails, as it would without a tunnel; the next ones must get through."""
    started = time.monotonic()
    async with asyncio.timeout(within):
        while True:
            try:
                if (await health(http, url)).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)


async def test_a_dropped_ssh_connection_is_reopened_behind_the_same_local_url(
    server: ServerProcess, ssh_host: SshHost
) -> None:
    async with (
        ssh_tunnel(
            ssh_host.target,
            remote_port=server.port,
            identity=ssh_host.identity,
            known_hosts=ssh_host.known_hosts,
        ) as url,
        httpx.AsyncClient() as http,
    ):
        assert (await health(http, url)).status_code == 200

        assert ssh_host.drop_connections() == 1

        assert await seconds_until_it_answers(http, url, within=5) < 3
        assert ssh_host.connections_made == 2


async def test_a_connection_whose_host_stopped_answering_is_replaced_after_its_keepalives(
    server: ServerProcess, ssh_host: SshHost, tmp_path: Path
) -> None:
    network = Network(ssh_host.port)
    await network.start()
    known_hosts = tmp_path / "known_hosts_via_network"
    key = ssh_host.known_hosts.read_text().split(" ", 1)[1]
    known_hosts.write_text(f"[127.0.0.1]:{network.port} {key}")
    through_network = SshTarget(user=SSH_USER, host="127.0.0.1", port=network.port)
    async with (
        ssh_tunnel(
            through_network,
            remote_port=server.port,
            identity=ssh_host.identity,
            known_hosts=known_hosts,
            keepalive_interval=0.25,  # given up 1.5 s after the last byte, not 30
        ) as url,
        httpx.AsyncClient(timeout=2) as http,
    ):
        network.go_silent()

        assert await seconds_until_it_answers(http, url, within=10) < 5
        assert ssh_host.connections_made == 2
    await network.close()


async def test_the_tunnel_waits_for_sshd_to_come_back_and_then_serves_again(
    server: ServerProcess, ssh_host: SshHost
) -> None:
    async with (
        ssh_tunnel(
            ssh_host.target,
            remote_port=server.port,
            identity=ssh_host.identity,
            known_hosts=ssh_host.known_hosts,
        ) as url,
        httpx.AsyncClient() as http,
    ):
        ssh_host.stop_listening()
        ssh_host.drop_connections()
        await asyncio.sleep(1.5)  # a few refused attempts
        ssh_host.start_listening()

        await seconds_until_it_answers(http, url, within=20)
        assert ssh_host.connections_made >= 2


async def test_after_a_long_outage_a_request_reconnects_without_waiting_out_the_back_off(
    server: ServerProcess, ssh_host: SshHost
) -> None:
    async with (
        ssh_tunnel(
            ssh_host.target,
            remote_port=server.port,
            identity=ssh_host.identity,
            known_hosts=ssh_host.known_hosts,
        ) as url,
        httpx.AsyncClient(timeout=30) as http,
    ):
        ssh_host.stop_listening()
        ssh_host.drop_connections()
        await asyncio.sleep(8)  # refused attempts at about 0, 1, 2.5, 5.5: the next in 4-8 s
        ssh_host.start_listening()

        assert await seconds_until_it_answers(http, url, within=15) < 2.5


async def test_a_request_while_the_ssh_host_stays_away_is_answered_502_with_the_reason(
    server: ServerProcess, ssh_host: SshHost
) -> None:
    async with (
        ssh_tunnel(
            ssh_host.target,
            remote_port=server.port,
            identity=ssh_host.identity,
            known_hosts=ssh_host.known_hosts,
        ) as url,
        httpx.AsyncClient(timeout=30) as http,
    ):
        ssh_host.stop_listening()
        ssh_host.drop_connections()

        answer = await health(http, url)

    assert answer.status_code == 502
    detail = answer.json()["detail"]
    assert "cannot reach the server through SSH" in detail
    assert f"cannot connect to 127.0.0.1:{ssh_host.port}: connection refused" in detail


async def test_the_console_comes_back_live_and_shows_an_incident_opened_while_ssh_was_down(
    server: ServerProcess,
    ssh_host: SshHost,
    api: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SSH_KNOWN_HOSTS_ENV, str(ssh_host.known_hosts))
    url = ssh_url(ssh_host.target, server.port)
    credentials = Credentials(url, api.access_token or "", api.refresh_token or "", ADMIN_EMAIL)
    async with console_route(url, identity=ssh_host.identity) as api_url:
        app = UpmetrApp(
            api_url,
            credentials=credentials,
            credentials_url=url,
            remember=False,
            start_view="incidents",
        )
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.connection == "live", timeout=15)

            ssh_host.stop_listening()
            ssh_host.drop_connections()
            await until(pilot, lambda: app.connection == "reconnecting", timeout=10)
            api.incidents.create(title="opened while SSH was down", severity="critical")
            ssh_host.start_listening()

            await until(pilot, lambda: app.connection == "live", timeout=40)
            await until(pilot, lambda: "opened while SSH was down" in table_text(pilot), 10)
    assert ssh_host.connections_made >= 2


async def test_a_request_while_the_server_is_down_on_the_host_is_answered_502_saying_so(
    ssh_host: SshHost,
) -> None:
    stopped_port = free_port()
    async with (
        ssh_tunnel(
            ssh_host.target,
            remote_port=stopped_port,
            identity=ssh_host.identity,
            known_hosts=ssh_host.known_hosts,
            check_remote=False,  # as when the server stops after the tunnel opened
        ) as url,
        httpx.AsyncClient() as http,
    ):
        answer = await http.post(f"{url}/api/v1/incidents", json={"title": "x"})

    assert answer.status_code == 502
    assert answer.json()["detail"] == (
        f"the server is not listening on 127.0.0.1:{stopped_port} on host 127.0.0.1 "
        "(is `upmetr serve` running there, on that port?)"
    )


def test_upmetr_console_over_ssh_in_a_terminal_says_reconnecting_then_live_again(
    server: ServerProcess, ssh_host: SshHost, api: Client, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "UPMETR_CONFIG_DIR": str(tmp_path / "config"),
        "UPMETR_SSH": f"{SSH_USER}@127.0.0.1:{ssh_host.port}",
        "UPMETR_SSH_REMOTE_PORT": str(server.port),
        "UPMETR_SSH_IDENTITY": str(ssh_host.identity),
        "UPMETR_SSH_KNOWN_HOSTS": str(ssh_host.known_hosts),
        "TERM": "xterm-256color",
    }
    for unset in ("UPMETR_URL", "UPMETR_API_KEY", "SSH_AUTH_SOCK"):
        env.pop(unset, None)
    login = subprocess.run(  # noqa: S603 - our own command and arguments
        [UPMETR, "login", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD],
        env=env, cwd=OUTSIDE_CHECKOUT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    terminal = Terminal([UPMETR, "console", "--view", "incidents"], env)
    try:
        terminal.wait_for(b"live", timeout=30)

        ssh_host.stop_listening()
        ssh_host.drop_connections()
        terminal.text = b""
        terminal.wait_for(b"reconnecting", timeout=15)
        api.incidents.create(title="seen after the tunnel came back", severity="warning")
        ssh_host.start_listening()

        terminal.text = b""
        terminal.wait_for(b"live", b"seen after the tunnel came back", timeout=40)
        terminal.type(b":q\r")
        assert terminal.wait_exit(timeout=15) == 0
    finally:
        terminal.close()
    assert ssh_host.connections_made >= 2
