"""Reaching an Upmetr server over SSH: the only module on the client side that imports asyncssh.

The server listens on its host's loopback; `ssh_tunnel` connects to that host, forwards an
ephemeral port on our 127.0.0.1 to 127.0.0.1:<remote_port> over there (like `ssh -L`) and
yields the local base URL, which stays valid while lost SSH connections are replaced behind
it (`Tunnel`). Host keys are checked against known_hosts, and keys come from the ssh-agent,
the default files in ~/.ssh (or `--identity`) and ~/.ssh/config, as with OpenSSH. Every
failure becomes a `TunnelError` with a one-line message meant for the user.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import json
import random
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
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
# A host that stops answering ends the connection (KEEPALIVE_COUNT_MAX + 1) x
# KEEPALIVE_INTERVAL = 30 seconds after the last byte it sent: asyncssh probes after each
# silent interval and gives up at the probe after KEEPALIVE_COUNT_MAX unanswered ones (as
# OpenSSH's ServerAliveInterval and ServerAliveCountMax). Without them a vanished host hangs
# the tunnel until TCP gives up, which takes many minutes.
KEEPALIVE_INTERVAL = 5.0
KEEPALIVE_COUNT_MAX = 5
# Reconnecting a lost SSH connection: the first attempt at once, then this back-off.
RECONNECT_INITIAL_DELAY = 1.0
RECONNECT_MAX_DELAY = 30.0
# A connection that lived shorter than this counts as a failed attempt for the back-off.
STABLE_CONNECTION = 10.0
# How long a request through the tunnel waits for a lost SSH connection to come back:
# a quick reconnect goes unnoticed, and a host that stays away is reported (502) well
# before the client's own 30-second timeout.
WAIT_FOR_SSH = 5.0
# How long a refused channel waits to see whether its SSH connection was ending.
CLOSING_GRACE = 0.2
RELAY_CHUNK = 64 * 1024
MAX_UNANSWERED_BODY = 1024 * 1024
TARGET_FORM = "expected [user@]host[:port]"


class _Reader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class _Writer(Protocol):
    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...
    def can_write_eof(self) -> bool: ...
    def write_eof(self) -> None: ...


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
    keepalive_interval: float = KEEPALIVE_INTERVAL,
) -> AsyncIterator[str]:
    """Yield `http://127.0.0.1:<port>`, which reaches 127.0.0.1:`remote_port` on `target`.

    `identity` is a private key file tried besides the ssh-agent's keys (instead of the
    default ~/.ssh/id_* files, as `ssh -i` does); `known_hosts` replaces ~/.ssh/known_hosts.
    With `check_remote`, one connection is opened through the tunnel first, so that a
    server that is not running fails here, with a clear message, and not at the first request.
    The URL stays valid until the block ends: a lost SSH connection is replaced behind it
    (see `Tunnel`).
    """
    tunnel = Tunnel(
        target,
        remote_port=remote_port,
        identity=identity,
        known_hosts=known_hosts,
        keepalive_interval=keepalive_interval,
    )
    await tunnel.open(check_remote=check_remote)
    try:
        yield tunnel.url
    finally:
        await tunnel.close()


class Tunnel:
    """A local port that reaches the server for as long as it is open, over SSH connections
    replaced as often as they are lost (an `ssh -L` that comes back by itself).

    1. `open` connects once; its errors are `TunnelError`s, so a wrong target, key or port
       fails at once. Then it listens on an ephemeral port of 127.0.0.1, kept until `close`,
       so a client's base URL stays valid across reconnections.
    2. Each connection to that port opens a channel to 127.0.0.1:`remote_port` on the
       host over the current SSH connection and relays bytes both ways.
    3. SSH keepalives end a connection whose host stopped answering (30 s, see
       KEEPALIVE_INTERVAL); its channels close with it, so clients see their requests and
       event streams fail instead of hanging.
    4. A lost connection is replaced: the first attempt at once, then after a back-off of
       min(RECONNECT_MAX_DELAY, RECONNECT_INITIAL_DELAY * 2**n) with full jitter in its upper
       half, n counting failed attempts (and connections lost soon after they opened). A
       request waiting for the tunnel cuts the back-off short (to RECONNECT_INITIAL_DELAY).
    5. A connection to the local port while SSH is down waits up to WAIT_FOR_SSH for it to
       come back. Then, or when the host refuses the channel, it is answered with an HTTP
       502 whose detail says why: HTTP is what the port carries, and the client shows the
       detail instead of a bare disconnection.
    """

    def __init__(
        self,
        target: SshTarget,
        *,
        remote_port: int = DEFAULT_REMOTE_PORT,
        identity: Path | None = None,
        known_hosts: Path | None = None,
        keepalive_interval: float = KEEPALIVE_INTERVAL,
    ) -> None:
        self.target = target
        self.remote_port = remote_port
        self.identity = identity
        self.known_hosts = known_hosts
        self.keepalive_interval = keepalive_interval
        self.url = ""
        self.last_error: TunnelError | None = None
        self._connection: asyncssh.SSHClientConnection | None = None
        self._up = asyncio.Event()
        # Set by a request that has to wait for the SSH connection: reconnect without delay.
        self._wanted = asyncio.Event()
        self._listener: asyncio.Server | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._relays: set[asyncio.Task[None]] = set()

    async def open(self, *, check_remote: bool = True) -> str:
        """Connect and listen; returns the local URL. Raises `TunnelError`."""
        connection = await self._connect()
        try:
            if check_remote:
                try:
                    await _check_remote(connection, self.remote_port)
                except (OSError, _ssh_errors()) as exc:
                    raise self._explain(exc, self.remote_port) from exc
            self._listener = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        except BaseException:
            connection.close()
            raise
        port = self._listener.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._use(connection)
        self._supervisor = asyncio.create_task(self._keep_connected(connection))
        return self.url

    async def close(self) -> None:
        """Stop listening, end the relays and the SSH connection."""
        if self._listener is not None:
            self._listener.close()
        tasks = [*self._relays, *([self._supervisor] if self._supervisor else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._connection is not None:
            self._connection.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                    await self._connection.wait_closed()
        self._up.clear()

    async def _connect(self) -> asyncssh.SSHClientConnection:
        import asyncssh

        options = _connect_options(self.target, self.identity, self.known_hosts)
        options["keepalive_interval"] = self.keepalive_interval
        options["keepalive_count_max"] = KEEPALIVE_COUNT_MAX
        try:
            return await asyncssh.connect(self.target.host, self.target.port, **options)
        except (OSError, asyncssh.Error, ValueError) as exc:
            raise self._explain(exc) from exc

    def _explain(self, exc: BaseException, remote_port: int | None = None) -> TunnelError:
        return _explain(exc, self.target, self.identity, self.known_hosts, remote_port)

    def _use(self, connection: asyncssh.SSHClientConnection) -> None:
        self._connection = connection
        self.last_error = None
        self._up.set()

    async def _keep_connected(self, connection: asyncssh.SSHClientConnection) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            opened_at = loop.time()
            await connection.wait_closed()
            self._up.clear()
            if loop.time() - opened_at < STABLE_CONNECTION:
                failures += 1  # lost soon after it opened: no reconnecting in a tight loop
            else:
                failures = 0
            self.last_error = TunnelError(f"the SSH connection to {self.target.address} was lost")
            while True:
                if failures:
                    ceiling = min(
                        RECONNECT_MAX_DELAY, RECONNECT_INITIAL_DELAY * 2 ** (failures - 1)
                    )
                    await self._back_off(random.uniform(ceiling / 2, ceiling))
                self._wanted.clear()
                try:
                    connection = await self._connect()
                except Exception as exc:  # whatever it was, this loop must go on trying
                    self.last_error = exc if isinstance(exc, TunnelError) else self._explain(exc)
                    failures += 1
                    continue
                self._use(connection)
                break

    async def _back_off(self, delay: float) -> None:
        """Wait `delay` seconds, or less when a request is waiting for the tunnel: after a
        long outage a person's next action reconnects now, not at the end of the back-off.
        At least RECONNECT_INITIAL_DELAY all the same, however many requests wait."""
        await asyncio.sleep(min(delay, RECONNECT_INITIAL_DELAY))
        if delay > RECONNECT_INITIAL_DELAY:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay - RECONNECT_INITIAL_DELAY):
                    await self._wanted.wait()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._relay(reader, writer))
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            channel = await self._open_channel()
            if isinstance(channel, TunnelError):
                await _answer_bad_gateway(reader, writer, str(channel))
                return
            remote_reader, remote_writer = channel
            copies = [
                asyncio.ensure_future(_copy(reader, remote_writer)),
                asyncio.ensure_future(_copy(remote_reader, writer)),
            ]
            try:
                await asyncio.gather(*copies)
            finally:
                # One way failing (its end went away) ends the other: both ends close.
                for copy in copies:
                    copy.cancel()
                await asyncio.gather(*copies, return_exceptions=True)
                remote_writer.close()
        except _relay_errors():
            pass  # either end went away: closing the other is all there is to do
        finally:
            writer.close()

    async def _open_channel(
        self,
    ) -> tuple[asyncssh.SSHReader[bytes], asyncssh.SSHWriter[bytes]] | TunnelError:
        """A channel to the server over the current SSH connection, waiting up to
        WAIT_FOR_SSH for one; else the error to answer with."""
        import asyncssh

        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_SSH
        while True:
            if not self._up.is_set():
                self._wanted.set()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._up.wait()
            except TimeoutError:
                reason = self.last_error or f"the SSH connection to {self.target.address} is down"
                return TunnelError(
                    f"cannot reach the server through SSH: {reason}; reconnecting by itself"
                )
            connection = self._connection
            assert connection is not None
            if connection.is_closed():  # lost a moment ago: the supervisor is about to see it
                await asyncio.sleep(CLOSING_GRACE)
                continue
            try:
                return await connection.open_connection(REMOTE_HOST, self.remote_port)
            except (OSError, asyncssh.Error) as exc:
                error = exc
            # A channel asked for as the connection ends fails too: then wait for the next
            # connection; only a refusal on a connection that stays up is the answer.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSING_GRACE):
                    await connection.wait_closed()
            if not connection.is_closed():
                return self._explain(error, self.remote_port)


async def _copy(reader: _Reader, writer: _Writer) -> None:
    """Bytes from `reader` to `writer` until end of file, which is passed on (half-close)."""
    while data := await reader.read(RELAY_CHUNK):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def _answer_bad_gateway(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, detail: str
) -> None:
    """Answer the HTTP request waiting on `reader` with 502 and `{"detail": ...}`, the API's
    error shape (API.md). The request is read first: closing a socket with unread bytes
    resets it, and the client would see the reset instead of the answer."""
    unreadable = (TimeoutError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError)
    with contextlib.suppress(*unreadable):
        async with asyncio.timeout(SHUTDOWN_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if 0 < length <= MAX_UNANSWERED_BODY:
                await reader.readexactly(length)
    body = json.dumps({"detail": detail}).encode()
    writer.write(
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


def _ssh_errors() -> type[Exception]:
    import asyncssh

    return asyncssh.Error


def _relay_errors() -> tuple[type[Exception], ...]:
    import asyncssh

    return (OSError, asyncssh.Error, asyncio.IncompleteReadError)


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
