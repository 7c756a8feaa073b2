"""Reaching the server over SSH: a real asyncssh server on 127.0.0.1 forwards to a real API server.

The SSH server (tests/console/ssh_world.py) stands for a remote host where `upmetr serve`
listens on the loopback only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import httpx
import pytest
from click.testing import CliRunner, Result

from console.app import UpmetrApp
from console.cli import main
from console.cli.session import SSH_KNOWN_HOSTS_ENV, shown_url
from console.config import Credentials
from console.connection import (
    SshTarget,
    TunnelError,
    parse_ssh_url,
    ssh_tunnel,
    ssh_tunnel_in_thread,
    ssh_url,
)
from console.launch import console_route
from shared.client import Client
from tests.console.console_harness import table_text, until
from tests.console.ssh_world import SSH_USER, SshHost, ssh_host_in, write_key
from tests.e2e.upmetr_server import ADMIN_EMAIL, ADMIN_PASSWORD, ServerProcess, free_port


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHost]:
    with ssh_host_in(tmp_path_factory.mktemp("ssh")) as host:
        yield host


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url) as client:
        client.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield client


def run(tmp_path: Path, ssh_host: SshHost, *args: str, **env: str | None) -> Result:
    """The CLI with a HOME of its own: no ~/.ssh keys, config or known_hosts of the machine."""
    isolated: dict[str, str | None] = {
        "HOME": str(tmp_path),
        "UPMETR_CONFIG_DIR": str(tmp_path / "config"),
        "UPMETR_API_KEY": "",
        "UPMETR_URL": "",
        "UPMETR_SSH": None,
        "UPMETR_SSH_IDENTITY": None,
        "UPMETR_SSH_REMOTE_PORT": None,
        "UPMETR_SSH_KNOWN_HOSTS": str(ssh_host.known_hosts),
        "SSH_AUTH_SOCK": None,
    }
    return CliRunner().invoke(main, list(args), env={**isolated, **env})


def ssh_args(ssh_host: SshHost, remote_port: int, identity: Path | None = None) -> list[str]:
    return [
        "--ssh",
        f"{SSH_USER}@127.0.0.1:{ssh_host.port}",
        "--remote-port",
        str(remote_port),
        "--identity",
        str(identity or ssh_host.identity),
    ]


def assert_clean_failure(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_over_ssh_acknowledges_an_incident(
    tmp_path: Path, server: ServerProcess, ssh_host: SshHost, api: Client
) -> None:
    incident = api.incidents.create(title="SSH: disk full on db-1", severity="critical")
    login = run(
        tmp_path, ssh_host, "login", "--url", server.url,
        "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD,
    )  # fmt: skip
    assert login.exit_code == 0, login.output
    forwarded_before = len(ssh_host.forwarded)

    acked = run(
        tmp_path, ssh_host, *ssh_args(ssh_host, server.port), "incidents", "ack", str(incident.id)
    )

    assert acked.exit_code == 0, acked.output
    assert f"Incident {incident.id} acknowledged" in acked.stdout
    assert ssh_host.forwarded[forwarded_before:].count(server.port) >= 1
    assert api.incidents.get(incident.id).status == "acknowledged"


def test_login_over_ssh_is_remembered_by_later_commands(
    tmp_path: Path, server: ServerProcess, ssh_host: SshHost, api: Client
) -> None:
    incident = api.incidents.create(title="SSH: remembered route", severity="warning")
    login = run(
        tmp_path, ssh_host, *ssh_args(ssh_host, server.port),
        "login", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD,
    )  # fmt: skip
    assert login.exit_code == 0, login.output
    stored = json.loads((tmp_path / "config" / "credentials.json").read_text())
    assert stored["url"] == f"ssh://{SSH_USER}@127.0.0.1:{ssh_host.port}?remote_port={server.port}"
    forwarded_before = len(ssh_host.forwarded)

    listed = run(
        tmp_path,
        ssh_host,
        "incidents",
        "list",
        "--json",
        UPMETR_SSH_IDENTITY=str(ssh_host.identity),
    )

    assert listed.exit_code == 0, listed.output
    assert incident.id in [item["id"] for item in json.loads(listed.stdout)["items"]]
    assert server.port in ssh_host.forwarded[forwarded_before:]


def test_login_and_whoami_over_ssh_name_the_ssh_server_not_the_tunnels_local_end(
    tmp_path: Path, server: ServerProcess, ssh_host: SshHost
) -> None:
    shown = f"ssh://{SSH_USER}@127.0.0.1:{ssh_host.port}?remote_port={server.port}"

    login = run(
        tmp_path, ssh_host, *ssh_args(ssh_host, server.port),
        "login", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD,
    )  # fmt: skip
    whoami = run(tmp_path, ssh_host, "whoami", UPMETR_SSH_IDENTITY=str(ssh_host.identity))

    assert login.exit_code == 0, login.output
    assert f"Logged in to {shown} as {ADMIN_EMAIL}" in login.stdout
    assert whoami.exit_code == 0, whoami.output
    assert any(line.split() == ["server", shown] for line in whoami.stdout.splitlines())
    assert "http://127.0.0.1" not in login.stdout + whoami.stdout


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ssh://ops@box:2222?remote_port=8080", "ssh://ops@box:2222"),
        ("ssh://ops@box?remote_port=9000", "ssh://ops@box?remote_port=9000"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_messages_name_an_ssh_server_with_its_remote_port_only_when_it_is_not_the_default(
    url: str, shown: str
) -> None:
    assert shown_url(url) == shown


@pytest.fixture
def hanging_up_port() -> Iterator[int]:
    """A port whose server closes every connection without an answer."""
    listener = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        with contextlib.suppress(OSError):  # the listener closed: the test is over
            while True:
                listener.accept()[0].close()

    threading.Thread(target=hang_up, daemon=True).start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()


def test_an_unreachable_server_over_ssh_is_named_by_its_ssh_url_in_the_error(
    tmp_path: Path, ssh_host: SshHost, hanging_up_port: int
) -> None:
    result = run(
        tmp_path,
        ssh_host,
        *ssh_args(ssh_host, hanging_up_port),
        "whoami",
        UPMETR_API_KEY="upk_unused",
    )

    assert_clean_failure(
        result,
        "cannot reach the Upmetr server at "
        f"ssh://{SSH_USER}@127.0.0.1:{ssh_host.port}?remote_port={hanging_up_port}: ",
    )
    assert "http://127.0.0.1" not in result.output


def test_an_untrusted_host_key_is_refused_with_a_clear_error(
    tmp_path: Path, server: ServerProcess, ssh_host: SshHost
) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{ssh_host.port} {impostor}")

    result = run(
        tmp_path,
        ssh_host,
        *ssh_args(ssh_host, server.port),
        "incidents",
        "list",
        UPMETR_API_KEY="upk_unused",
        UPMETR_SSH_KNOWN_HOSTS=str(known_hosts),
    )

    assert_clean_failure(result, f"the host key of 127.0.0.1:{ssh_host.port} is not trusted")
    assert str(known_hosts) in result.output


def test_a_key_the_host_does_not_accept_gives_an_authentication_error(
    tmp_path: Path, server: ServerProcess, ssh_host: SshHost
) -> None:
    stranger = tmp_path / "id_stranger"
    write_key(stranger)

    result = run(
        tmp_path,
        ssh_host,
        *ssh_args(ssh_host, server.port, identity=stranger),
        "whoami",
        UPMETR_API_KEY="upk_unused",
    )

    assert_clean_failure(
        result, f"SSH authentication to {SSH_USER}@127.0.0.1:{ssh_host.port} failed"
    )


def test_a_remote_port_where_nothing_listens_gives_a_clear_error(
    tmp_path: Path, ssh_host: SshHost
) -> None:
    idle_port = free_port()

    result = run(
        tmp_path,
        ssh_host,
        *ssh_args(ssh_host, idle_port),
        "incidents",
        "list",
        UPMETR_API_KEY="upk_unused",
    )

    assert_clean_failure(
        result, f"the server is not listening on 127.0.0.1:{idle_port} on host 127.0.0.1"
    )


def test_an_invalid_ssh_target_is_a_usage_error(tmp_path: Path, ssh_host: SshHost) -> None:
    result = run(tmp_path, ssh_host, "--ssh", "deploy@", "whoami")

    assert result.exit_code == 2
    assert "missing host in 'deploy@'" in result.output


async def test_the_tunnel_reaches_the_server_and_closes_its_port_on_exit(
    server: ServerProcess, ssh_host: SshHost
) -> None:
    tunnel = ssh_tunnel(
        ssh_host.target,
        remote_port=server.port,
        identity=ssh_host.identity,
        known_hosts=ssh_host.known_hosts,
    )
    async with tunnel as url, httpx.AsyncClient() as http:
        assert (await http.get(f"{url}/health")).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health")


def test_the_tunnel_in_a_thread_serves_synchronous_code_until_the_block_ends(
    server: ServerProcess, ssh_host: SshHost
) -> None:
    with ssh_tunnel_in_thread(
        ssh_host.target,
        remote_port=server.port,
        identity=ssh_host.identity,
        known_hosts=ssh_host.known_hosts,
    ) as url:
        assert httpx.get(f"{url}/health").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health")


def test_no_ssh_server_gives_connection_refused_in_the_callers_thread(
    ssh_host: SshHost,
) -> None:
    nobody = SshTarget(user=None, host="127.0.0.1", port=free_port())

    with (
        pytest.raises(TunnelError, match=r"cannot connect to 127\.0\.0\.1:\d+: connection refused"),
        ssh_tunnel_in_thread(nobody, known_hosts=ssh_host.known_hosts),
    ):
        pass


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("box", SshTarget(user=None, host="box", port=22)),
        ("ops@box.example.com", SshTarget(user="ops", host="box.example.com", port=22)),
        ("box:2222", SshTarget(user=None, host="box", port=2222)),
        ("ops@box:2222", SshTarget(user="ops", host="box", port=2222)),
        ("me@corp@box", SshTarget(user="me@corp", host="box", port=22)),
        ("[::1]", SshTarget(user=None, host="::1", port=22)),
        ("ops@[2001:db8::7]:2200", SshTarget(user="ops", host="2001:db8::7", port=2200)),
        ("fe80::1", SshTarget(user=None, host="fe80::1", port=22)),
        (" box ", SshTarget(user=None, host="box", port=22)),
    ],
)
def test_ssh_targets_parse_with_optional_user_and_port(text: str, expected: SshTarget) -> None:
    assert SshTarget.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty SSH target"),
        ("ops@", "missing host in 'ops@'"),
        ("@box", "empty user name"),
        ("box:", "the port in 'box:' is not a number"),
        ("box:ssh", "the port in 'box:ssh' is not a number"),
        ("box:0", "out of range (1-65535): 0"),
        ("box:65536", "out of range (1-65535): 65536"),
        ("[::1", "missing ']'"),
        ("[::1]2222", "unexpected '2222' after ']'"),
        ("[box]:22", "'box' in '[box]:22' is not an IPv6 address"),
        ("ssh://box", "is a URL"),
        ("my box", "unexpected space"),
    ],
)
def test_malformed_ssh_targets_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        SshTarget.parse(text)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("target", "remote_port", "url"),
    [
        (SshTarget(None, "box"), 8080, "ssh://box?remote_port=8080"),
        (SshTarget("ops", "box", 2222), 9000, "ssh://ops@box:2222?remote_port=9000"),
        (SshTarget("a@b", "::1", 22), 8080, "ssh://a%40b@[::1]?remote_port=8080"),
    ],
)
def test_ssh_urls_record_the_target_and_remote_port(
    target: SshTarget, remote_port: int, url: str
) -> None:
    assert ssh_url(target, remote_port) == url
    assert parse_ssh_url(url) == (target, remote_port)


def test_only_ssh_urls_parse_as_ssh_urls() -> None:
    assert parse_ssh_url("http://127.0.0.1:8080") is None
    assert parse_ssh_url("ssh://box") == (SshTarget(None, "box"), 8080)
    with pytest.raises(ValueError, match="no host"):
        parse_ssh_url("ssh://?remote_port=8080")
    with pytest.raises(ValueError, match="passwords do not belong"):
        parse_ssh_url("ssh://ops:secret@box")


async def test_the_console_over_ssh_acknowledges_an_incident(
    server: ServerProcess,
    ssh_host: SshHost,
    api: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    incident = api.incidents.create(title="disk full on db-1", severity="critical")
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
            await until(pilot, lambda: "disk full on db-1" in table_text(pilot), timeout=15)
            await until(pilot, lambda: app.connection == "live", timeout=15)
            assert "ssh://" in app.display_url
            await pilot.press("a")
            await until(pilot, lambda: "acknowledged" in table_text(pilot), timeout=15)
    assert api.incidents.get(incident.id).status == "acknowledged"
    assert server.port in ssh_host.forwarded
