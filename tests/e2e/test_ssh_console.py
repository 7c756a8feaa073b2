"""The console served over SSH (`upmetr ssh-serve`), driven by an asyncssh client as a
person's `ssh` would: the installed commands, a real API server, real keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pyotp
import pytest

from tests.e2e.ssh_console import (
    Member,
    SshServe,
    connect,
    console,
    console_pids,
    member,
    new_key,
    run,
)
from tests.e2e.test_worker_process import alive
from tests.e2e.upmetr_server import ServerProcess

DASHBOARD = ("incidents:", "monitors:", "unresolved")


@dataclass
class World:
    server: ServerProcess
    ssh: SshServe
    alice: Member
    carol: Member

    @property
    def port(self) -> int:
        return self.ssh.port


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = ServerProcess(tmp_path_factory.mktemp("ssh") / "data")
    server.start()
    ssh = None
    try:
        alice = member(server, "alice@example.com")
        carol = member(server, "carol@example.com")
        ssh = SshServe(server, max_sessions_per_user="2")
        yield World(server, ssh, alice, carol)
    finally:
        if ssh is not None:
            ssh.stop()
        server.stop()


def open_incident(person: Member, title: str) -> int:
    response = person.api("POST", "/incidents", json={"title": title, "severity": "critical"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def audit(person: Member, action: str) -> list[dict[str, object]]:
    response = person.api("GET", "/audit-logs", params={"action": action, "per_page": 100})
    return list(response.json()["items"])


def live_ssh_sessions(person: Member) -> list[dict[str, object]]:
    sessions = person.api("GET", "/auth/sessions").json()
    return [s for s in sessions if s.get("user_agent") == "upmetr ssh-serve"]


async def test_the_dashboard_opens_as_the_member_whose_key_it_is(world: World) -> None:
    fingerprint = world.alice.key.get_fingerprint("sha256")
    async with console(world.port, world.alice.key) as screen:
        await screen.wait_for(*DASHBOARD, "alice's organization")
        assert live_ssh_sessions(world.alice), "the console signs in with a session of its own"
        screen.type(":q\r")
        assert await screen.closed() == 0
    assert live_ssh_sessions(world.alice) == []  # signed out when the SSH session ended
    opened, closed = (
        audit(world.alice, "ssh.session_opened"),
        audit(world.alice, "ssh.session_closed"),
    )
    assert any(fingerprint in str(e["detail"]) and e["ip"] == "127.0.0.1" for e in opened)
    assert any("console quit" in str(e["detail"]) for e in closed)


async def test_an_incident_is_acknowledged_from_the_console(world: World) -> None:
    incident = open_incident(world.alice, "Checkout is down")
    async with console(world.port, world.alice.key) as screen:
        await screen.wait_for(*DASHBOARD)
        screen.forget()
        screen.type(":incidents\r")
        await screen.wait_for("> incidents", "Checkout is down")
        screen.forget()
        screen.type("a")
        await screen.wait_for(f"Incident {incident} acknowledged")
    shown = world.alice.api("GET", f"/incidents/{incident}").json()
    assert shown["status"] == "acknowledged"


async def test_the_console_follows_the_window_size(world: World) -> None:
    async with console(world.port, world.alice.key, size=(80, 24)) as screen:
        await screen.wait_for(*DASHBOARD)
        # At 80 columns the header leaves the email out; at 160 it has room for it.
        assert "alice@example.com" not in screen.text
        screen.process.change_terminal_size(160, 48)
        await screen.wait_for("alice@example.com ·")


async def test_an_idle_session_is_closed(world: World) -> None:
    idle = SshServe(world.server, idle_minutes="0.1")  # 6 seconds
    try:
        async with console(idle.port, world.alice.key) as screen:
            # No key is pressed: the session ends by itself, with a message.
            await screen.closed(timeout=60)
            assert "no key pressed for 0.1 minutes" in screen.text
        closed = audit(world.alice, "ssh.session_closed")
        assert any("idle timeout" in str(e["detail"]) for e in closed)
    finally:
        idle.stop()


async def test_the_host_key_is_made_once_and_its_fingerprint_printed(world: World) -> None:
    async with await connect(world.port, world.alice.key) as connection:
        offered = connection.get_server_host_key()
    assert offered is not None
    assert offered.get_fingerprint("sha256") == world.ssh.host_key_fingerprint
    again = SshServe(world.server)  # the same data directory: the same key
    try:
        assert again.host_key_fingerprint == world.ssh.host_key_fingerprint
    finally:
        again.stop()


async def test_a_key_nobody_registered_is_refused(world: World) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await run(world.port, new_key(), "whoami")


async def test_a_key_deleted_through_the_api_is_refused_at_once(world: World) -> None:
    key = new_key()
    public = key.export_public_key("openssh").decode()
    added = world.carol.api("POST", "/users/me/ssh-keys", json={"public_key": public}).json()
    assert (await run(world.port, key, "whoami")).exit_status == 0
    assert world.carol.api("DELETE", f"/users/me/ssh-keys/{added['id']}").status_code == 204
    with pytest.raises(asyncssh.PermissionDenied):
        await run(world.port, key, "whoami")


async def test_commands_print_json_and_acknowledge(world: World) -> None:
    incident = open_incident(world.alice, "Queue backlog")
    done = await run(world.port, world.alice.key, "incidents --status open --json")
    assert done.exit_status == 0, done.stderr
    assert incident in [item["id"] for item in json.loads(done.stdout)["items"]]
    acked = await run(world.port, world.alice.key, f"ack {incident}")
    assert acked.exit_status == 0, acked.stderr
    assert world.alice.api("GET", f"/incidents/{incident}").json()["status"] == "acknowledged"
    assert live_ssh_sessions(world.alice) == []


async def test_commands_that_would_act_on_the_server_machine_are_refused(world: World) -> None:
    for command, words in (
        ("serve --port 9", "cannot run over SSH"),
        ("users create --email x@example.com", "cannot run over SSH"),
        ("billing invoice 1 --pdf /tmp/x.pdf", "reads or writes files"),
    ):
        done = await run(world.port, world.alice.key, command)
        assert done.exit_status == 1
        assert words in str(done.stderr), done.stderr


async def test_a_member_sees_only_their_own_organization(world: World) -> None:
    open_incident(world.alice, "Alice's private outage")
    alices_org = world.alice.api("GET", "/organization").json()["slug"]
    # An organization's slug as the SSH user name opens it only for its members.
    done = await run_as(world, world.carol, alices_org, "incidents --json")
    assert done.exit_status == 0, done.stderr
    assert "Alice's private outage" not in str(done.stdout)
    whoami = await run_as(world, world.carol, alices_org, "whoami --json")
    assert json.loads(str(whoami.stdout))["organization"]["slug"] != alices_org


async def run_as(
    world: World, person: Member, username: str, command: str
) -> asyncssh.SSHCompletedProcess:
    async with await asyncssh.connect(
        "127.0.0.1", world.port, username=username, client_keys=[person.key],
        known_hosts=None, agent_path=None,
    ) as connection:  # fmt: skip
        return await connection.run(command, check=False, timeout=60)


async def test_a_member_with_mfa_gives_a_code_unless_keys_count(world: World) -> None:
    dave = member(world.server, "dave@example.com")
    secret = dave.api("POST", "/auth/mfa/setup").json()["secret"]
    enabled = dave.api("POST", "/auth/mfa/enable", json={"code": pyotp.TOTP(secret).now()})
    backup_codes = enabled.json()["backup_codes"]
    async with console(world.port, dave.key) as screen:
        await screen.wait_for("Verification code:")
        screen.forget()
        screen.type("000000\r")
        await screen.wait_for("That code is not right", "Verification code:")
        screen.type(f"{backup_codes[0]}\r")
        await screen.wait_for(*DASHBOARD)
    refused = await run(world.port, dave.key, "whoami")
    assert refused.exit_status == 1 and "MFA" in str(refused.stderr)
    assert audit(dave, "ssh.mfa_failed")
    # No API session began for what was refused: only the console's, after its code.
    opened = [str(e["detail"]) for e in audit(dave, "ssh.session_opened")]
    assert len(opened) == 1 and opened[0].startswith("console;")
    changed = dave.api("PATCH", "/settings", json={"ssh_key_counts_as_mfa": True})
    assert changed.json()["ssh_key_counts_as_mfa"] is True
    assert (await run(world.port, dave.key, "whoami")).exit_status == 0


async def test_sessions_per_member_are_limited_and_consoles_end_with_them(world: World) -> None:
    async with (
        console(world.port, world.carol.key) as first,
        console(world.port, world.carol.key) as second,
    ):
        await first.wait_for(*DASHBOARD)
        await second.wait_for(*DASHBOARD)
        pids = console_pids(Path(world.server.data_dir))
        assert len(pids) == 2
        third = await run(world.port, world.carol.key, "whoami")
        assert third.exit_status == 1
        assert "2 SSH sessions open already" in str(third.stderr)
    for pid in pids:  # the client hung up: its console went with it
        for _ in range(100):
            if not alive(pid):
                break
            await asyncio.sleep(0.1)
        assert not alive(pid)
    assert (await run(world.port, world.carol.key, "whoami")).exit_status == 0
