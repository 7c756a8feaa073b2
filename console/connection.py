"""Reaching an Upmetr server over SSH: the only module on the client side that imports asyncssh.

The server listens on its host's loopback; `ssh_tunnel` connects to that host, forwards an
ephemeral port on our 127.0.0.1 to 127.0.0.1:<remote_port> over there (like `ssh -L`) and
yields the local base URL. Host keys are checked against known_hosts, and keys come from the
ssh-agent, the default files in ~/.ssh (or `--identity`) and ~/.ssh/config, as with OpenSSH.
Every failure becomes a `TunnelError` with a one-line message meant for the user.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote, urlsplit

if TYPE_CHECKING:
    import asyncssh

DEFAULT_SSH_PORT = 22
DEFAULT_REMOTE_PORT = 8080
SSH_SCHEME = "ssh"
REMOTE_HOST = "127.0.0.1"
CONNECT_TIMEOUT = 20.0
# How long leaving `ssh_tunnel_in_thread` waits for the connection to close politely.
SHUTDOWN_TIMEOUT = 5.0
TARGET_FORM = "expected [user@]host[:port]"


class TunnelError(Exception):
    """The tunnel could not be opened; `str()` is one line that says why, for the user."""


@dataclass(frozen=True)
class SshTarget:
    """Where to SSH to: `user` None means the ~/.ssh/config `User`, else the local user name."""

    user: str | None
    host: str
    port: int = DEFAULT_SSH_PORT

    @classmethod
    def parse(cls, text: str) -> SshTarget:
        """`host`, `user@host`, `host:2222`, `user@[::1]:2222` (or a bare IPv6 address)."""
        spec = text.strip()
        if not spec:
            raise ValueError(f"empty SSH target: {TARGET_FORM}")
        if "://" in spec:
            raise ValueError(f"{text!r} is a URL; {TARGET_FORM}")
        user: str | None = None
        if "@" in spec:
            # The last @ separates, as in OpenSSH: user names may contain one.
            user, _, spec = spec.rpartition("@")
            if not user:
                raise ValueError(f"empty user name in {text!r}: {TARGET_FORM}")
        host, port = _split_host_port(spec, text)
        if any(char.isspace() for char in host) or (user and any(c.isspace() for c in user)):
            raise ValueError(f"unexpected space in {text!r}: {TARGET_FORM}")
        return cls(user=user, host=host, port=port)

    @property
    def address(self) -> str:
        """`host:port` (`[v6]:port`), for messages about the network."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and self.port != DEFAULT_SSH_PORT else self.host
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port != DEFAULT_SSH_PORT else ""
        return f"{user}{host}{port}"


def _split_host_port(spec: str, text: str) -> tuple[str, int]:
    if spec.startswith("["):
        host, bracket, rest = spec[1:].partition("]")
        if not bracket:
            raise ValueError(f"missing ']' after the IPv6 address in {text!r}")
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after ']' in {text!r}: {TARGET_FORM}")
        port_text = rest[1:] if rest else None
        _require_ipv6(host, text)
    elif spec.count(":") > 1:
        # A bare IPv6 address; a port needs the brackets.
        host, port_text = spec, None
        _require_ipv6(host, text)
    else:
        host, colon, port_text_or_empty = spec.partition(":")
        port_text = port_text_or_empty if colon else None
    if not host:
        raise ValueError(f"missing host in {text!r}: {TARGET_FORM}")
    return host, DEFAULT_SSH_PORT if port_text is None else _parse_port(port_text, text)


def _require_ipv6(host: str, text: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ValueError(f"{host!r} in {text!r} is not an IPv6 address") from None


def _parse_port(port_text: str, text: str) -> int:
    if not port_text.isdigit():
        raise ValueError(f"the port in {text!r} is not a number: {port_text!r}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"the port in {text!r} is out of range (1-65535): {port}")
    return port


def ssh_url(target: SshTarget, remote_port: int = DEFAULT_REMOTE_PORT) -> str:
    """`ssh://[user@]host[:port]?remote_port=8080`: how credentials record a server over SSH."""
    user = f"{quote(target.user, safe='')}@" if target.user else ""
    host = f"[{target.host}]" if ":" in target.host else target.host
    port = f":{target.port}" if target.port != DEFAULT_SSH_PORT else ""
    return f"{SSH_SCHEME}://{user}{host}{port}?remote_port={remote_port}"


def parse_ssh_url(url: str) -> tuple[SshTarget, int] | None:
    """The target and remote port of an `ssh://` URL; None for any other URL.

    Raises ValueError when the URL is an ssh:// one but not a valid one.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != SSH_SCHEME:
        return None
    if parts.password is not None:
        raise ValueError(f"{url!r}: passwords do not belong in the URL; use a key or ssh-agent")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host: expected ssh://[user@]host[:port]")
    try:
        port = parts.port or DEFAULT_SSH_PORT
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    remote = parse_qs(parts.query).get("remote_port", [str(DEFAULT_REMOTE_PORT)])[-1]
    user = unquote(parts.username) if parts.username else None
    target = SshTarget(user=user, host=parts.hostname, port=port)
    return target, _parse_port(remote, url)


@asynccontextmanager
async def ssh_tunnel(
    target: SshTarget,
    *,
    remote_port: int = DEFAULT_REMOTE_PORT,
    identity: Path | None = None,
    known_hosts: Path | None = None,
    check_remote: bool = True,
) -> AsyncIterator[str]:
    """Yield `http://127.0.0.1:<port>`, which reaches 127.0.0.1:`remote_port` on `target`.

    `identity` is a private key file tried besides the ssh-agent's keys (instead of the
    default ~/.ssh/id_* files, as `ssh -i` does); `known_hosts` replaces ~/.ssh/known_hosts.
    With `check_remote`, one connection is opened through the tunnel first, so that a
    server that is not running fails here, with a clear message, and not at the first request.
    """
    # Imported here: it takes a noticeable part of a second, paid only by those using SSH.
    import asyncssh

    options = _connect_options(target, identity, known_hosts)
    try:
        connection = await asyncssh.connect(target.host, target.port, **options)
    except (OSError, asyncssh.Error, ValueError) as exc:
        raise _explain(exc, target, identity, known_hosts) from exc
    async with connection:
        try:
            if check_remote:
                await _check_remote(connection, remote_port)
            listener = await connection.forward_local_port("127.0.0.1", 0, REMOTE_HOST, remote_port)
        except (OSError, asyncssh.Error) as exc:
            raise _explain(exc, target, identity, known_hosts, remote_port) from exc
        try:
            yield f"http://127.0.0.1:{listener.get_port()}"
        finally:
            listener.close()
            await listener.wait_closed()


def _connect_options(
    target: SshTarget, identity: Path | None, known_hosts: Path | None
) -> dict[str, object]:
    # Left out, an option keeps asyncssh's default, which follows OpenSSH: ~/.ssh/config,
    # ~/.ssh/known_hosts, SSH_AUTH_SOCK and the default key files.
    options: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT}
    if target.user:
        options["username"] = target.user
    if identity is not None:
        options["client_keys"] = [str(identity.expanduser())]
    if known_hosts is not None:
        options["known_hosts"] = str(known_hosts.expanduser())
    return options


async def _check_remote(connection: asyncssh.SSHClientConnection, remote_port: int) -> None:
    _reader, writer = await connection.open_connection(REMOTE_HOST, remote_port)
    writer.close()
    await writer.wait_closed()


def _explain(
    exc: BaseException,
    target: SshTarget,
    identity: Path | None,
    known_hosts: Path | None,
    remote_port: int | None = None,
) -> TunnelError:
    """One line for the user: what failed, and what to do about it when we can tell."""
    import asyncssh

    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        if known_hosts is not None:
            fix = f"add its key to {known_hosts}"
        else:
            port = f"-p {target.port} " if target.port != DEFAULT_SSH_PORT else ""
            fix = f"run `ssh {port}{target.user + '@' if target.user else ''}{target.host}` once"
        return TunnelError(
            f"the host key of {target.address} is not trusted (unknown or changed): "
            f"check it, then {fix}"
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        keys = f"{identity} and the ssh-agent" if identity else "the ssh-agent and ~/.ssh keys"
        return TunnelError(
            f"SSH authentication to {target} failed: no key was accepted (tried {keys}); "
            "is the public key in the host's ~/.ssh/authorized_keys for that user?"
        )
    if isinstance(exc, asyncssh.KeyImportError | asyncssh.KeyEncryptionError):
        # asyncssh cannot prompt for a passphrase; the agent can hold the unlocked key.
        hint = "; load it with `ssh-add` instead" if "passphrase" in str(exc).lower() else ""
        key = f"the SSH key {identity}" if identity else "an SSH key"
        return TunnelError(f"cannot use {key}: {exc}{hint}")
    if isinstance(exc, asyncssh.ChannelOpenError) and remote_port is not None:
        if exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
            return TunnelError(f"port forwarding is not allowed by the SSH server on {target}")
        return TunnelError(
            f"the server is not listening on {REMOTE_HOST}:{remote_port} on host {target.host} "
            "(is `upmetr serve` running there, on that port?)"
        )
    if isinstance(exc, asyncssh.DisconnectError):
        return TunnelError(f"the SSH connection to {target.address} failed: {exc.reason}")
    if isinstance(exc, socket.gaierror):
        return TunnelError(f"cannot resolve the host name {target.host!r}: {exc.strerror}")
    if isinstance(exc, ConnectionRefusedError):
        return TunnelError(
            f"cannot connect to {target.address}: connection refused (is sshd running there?)"
        )
    if isinstance(exc, TimeoutError):
        return TunnelError(f"cannot connect to {target.address}: timed out")
    if isinstance(exc, OSError):
        if exc.filename is not None:
            return TunnelError(f"cannot read {exc.filename}: {exc.strerror}")
        return TunnelError(f"cannot connect to {target.address}: {exc.strerror or exc}")
    return TunnelError(f"SSH to {target.address} failed: {exc}")


@contextmanager
def ssh_tunnel_in_thread(
    target: SshTarget,
    *,
    remote_port: int = DEFAULT_REMOTE_PORT,
    identity: Path | None = None,
    known_hosts: Path | None = None,
    check_remote: bool = True,
) -> Iterator[str]:
    """`ssh_tunnel` for synchronous code: the tunnel runs on its own event loop in a thread.

    Setup errors are raised here as `TunnelError`; leaving the block closes the tunnel.
    """
    holder = _TunnelThread(
        ssh_tunnel(
            target,
            remote_port=remote_port,
            identity=identity,
            known_hosts=known_hosts,
            check_remote=check_remote,
        )
    )
    holder.start()
    try:
        url = holder.ready.result()
    except BaseException:
        holder.stop()
        raise
    try:
        yield url
    finally:
        holder.stop()


class _TunnelThread:
    """Holds an `ssh_tunnel` open on a private event loop in a daemon thread until `stop()`."""

    def __init__(self, tunnel: AbstractAsyncContextManager[str]) -> None:
        self._tunnel = tunnel
        self.ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        # Daemon: an interrupted program must not hang on exit waiting for the connection.
        self._thread = threading.Thread(target=self._run, name="upmetr-ssh-tunnel", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        # RuntimeError: the loop closed meanwhile, the thread is ending by itself.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._cancel)
        self._thread.join(SHUTDOWN_TIMEOUT)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _run(self) -> None:
        try:
            self._task = self._loop.create_task(self._hold())
            self._loop.run_until_complete(self._task)
        except BaseException as exc:  # whatever it is, the caller's thread raises it
            if not self.ready.done():
                self.ready.set_exception(exc)
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _hold(self) -> None:
        async with self._tunnel as url:
            self.ready.set_result(url)
            await asyncio.Event().wait()
