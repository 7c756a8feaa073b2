"""An SSH host for tests: a real asyncssh server on 127.0.0.1, on an event loop of its own.

It stands for a remote host where `upmetr serve` listens on the loopback only: it allows port
forwarding to 127.0.0.1 and nothing else, and records each forwarded connection so tests can
tell that the CLI and the console went through the tunnel. Tests can end its SSH connections
(as killing the sshd process of a session does) and stop and start listening on the same
port (sshd stopped, then back).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from console.connection import SshTarget

T = TypeVar("T")
SSH_USER = "deploy"


class EventLoopThread:
    """An event loop of its own, so the SSH server keeps serving while the CLI blocks."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class SshHost:
    """The SSH server and the client-side files that trust it and sign in to it."""

    port: int
    known_hosts: Path
    identity: Path
    forwarded: list[int] = field(default_factory=list)
    # The SSH connections open now, and how many were ever made.
    connections: list[asyncssh.SSHServerConnection] = field(default_factory=list)
    connections_made: int = 0
    _loop: EventLoopThread | None = None
    _listen: Any = None
    _acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def target(self) -> SshTarget:
        return SshTarget(user=SSH_USER, host="127.0.0.1", port=self.port)

    def drop_connections(self) -> int:
        """End every SSH connection at once, as killing their sshd processes does; returns
        how many there were."""

        async def drop() -> int:
            dropped = list(self.connections)
            for connection in dropped:
                connection.abort()
            return len(dropped)

        assert self._loop is not None
        return self._loop.run(drop())

    def stop_listening(self) -> None:
        """New connections are refused (sshd stopped); open ones are left alone."""
        assert self._loop is not None and self._acceptor is not None
        acceptor, self._acceptor = self._acceptor, None
        acceptor.close()
        self._loop.run(acceptor.wait_closed())

    def start_listening(self) -> None:
        """Accept connections on the same port again."""
        assert self._loop is not None and self._acceptor is None
        self._acceptor = self._loop.run(self._listen(self.port))


class LoopbackOnlyHost(asyncssh.SSHServer):
    """Permits `ssh -L` to 127.0.0.1 only, remembering each destination port."""

    def __init__(self, host: SshHost) -> None:
        self.host = host
        self.connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.connection = conn
        self.host.connections.append(conn)
        self.host.connections_made += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if self.connection in self.host.connections:
            self.host.connections.remove(self.connection)

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        if dest_host != "127.0.0.1":
            return False
        self.host.forwarded.append(dest_port)
        return True


def write_key(path: Path) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(path)
    return key


@contextmanager
def ssh_host_in(folder: Path) -> Iterator[SshHost]:
    """An SSH host trusted by `folder`/known_hosts, signed in to with `folder`/id_ed25519."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = write_key(folder / "id_ed25519")
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
    host = SshHost(0, folder / "known_hosts", folder / "id_ed25519")

    async def listen(port: int) -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            lambda: LoopbackOnlyHost(host),
            "127.0.0.1",
            port,
            server_host_keys=[host_key],
            authorized_client_keys=authorized,
        )

    loop = EventLoopThread()
    host._loop, host._listen = loop, listen
    host._acceptor = loop.run(listen(0))
    host.port = host._acceptor.get_port()
    host.known_hosts.write_text(f"[127.0.0.1]:{host.port} {host_key.export_public_key().decode()}")
    try:
        yield host
    finally:
        if host._acceptor is not None:
            host.stop_listening()
        host.drop_connections()
        loop.close()
