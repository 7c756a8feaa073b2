"""`upmetr ssh-serve`: the console, and the commands, for anyone with `ssh` and a key.

Public-key authentication only, against the keys members register (`/users/me/ssh-keys`):
no passwords, no keyboard-interactive. A session with a pseudo-terminal gets the console
(server/ssh/terminal.py); an exec request runs one command (server/ssh/commands.py). The
SSH user name may name an organization (its slug) to open in, as `ssh acme@host`. Sessions
are limited per member and in all, and end after `ssh_idle_minutes` without a key pressed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncssh

from server.config import Settings
from server.data_dir import make_private_dir
from server.db.engine import create_engine, create_sessionmaker
from server.events.bus import MemoryEventBus
from server.http.errors import ApiError
from server.http.ratelimit import RateLimiter
from server.keys import load_or_create_keys
from server.providers.email import mailer_for
from server.providers.redis import rate_limit_storage
from server.service_context import Runtime
from server.ssh import commands
from server.ssh.gate import Admission, Gate, Identity
from server.ssh.host_key import HOST_KEY_FILE, load_or_create_host_key
from server.ssh.terminal import SessionFiles, run_console
from server.tasks import BackgroundTasks

log = logging.getLogger("upmetr.ssh")
CODE_TRIES = 3
# What a console that was stopped had no chance to undo on the client's terminal: the
# alternate screen, mouse reporting, bracketed paste, the keyboard protocol, a hidden cursor.
RESET_TERMINAL = (
    b"\x1b[?1049l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l\x1b[<u\x1b[?25h\r\n"
)


@dataclass
class Limits:
    """Sessions open now, per member and in all."""

    per_user: int
    total: int
    open: Counter[int] = field(default_factory=Counter)

    def take(self, user_id: int) -> str | None:
        """Count a new session in, or say why it cannot open."""
        if sum(self.open.values()) >= self.total:
            return "the server has as many SSH sessions open as it allows; try again later"
        if self.open[user_id] >= self.per_user:
            return f"you have {self.per_user} SSH sessions open already; close one first"
        self.open[user_id] += 1
        return None

    def give_back(self, user_id: int) -> None:
        self.open[user_id] -= 1


class SshService:
    """What every connection shares: the gate to the database, limits and settings."""

    def __init__(self, settings: Settings, gate: Gate) -> None:
        self.settings = settings
        self.gate = gate
        self.limits = Limits(settings.ssh_max_sessions_per_user, settings.ssh_max_sessions)
        self.sessions_dir = settings.data_dir / "ssh-sessions"
        self.api_url = settings.ssh_api_url or f"http://{_reachable(settings.host)}:{settings.port}"

    def connection(self) -> Connection:
        return Connection(self)

    async def handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        connection = process.get_extra_info("connection").get_owner()
        assert isinstance(connection, Connection) and connection.identity is not None
        try:
            status = await self._session(process, connection)
        except Exception:
            log.exception("SSH session of %s failed", connection.identity.email)
            status = 1
        with contextlib.suppress(asyncssh.Error, BrokenPipeError, ConnectionError, OSError):
            process.exit(status)

    async def _session(
        self, process: asyncssh.SSHServerProcess[bytes], connection: Connection
    ) -> int:
        identity = connection.identity
        assert identity is not None
        command = process.command
        terminal = process.get_terminal_type()
        if command is None and terminal is None:
            return _say(
                process,
                "The console needs a terminal: connect with `ssh -t`, or "
                "give a command, as `ssh ... incidents --status open --json`.",
            )
        try:
            args = commands.parse(command) if command is not None else None
        except commands.Refused as refused:
            return _say(process, f"Error: {refused}")
        refusal = self.limits.take(identity.user_id)
        if refusal is not None:
            return _say(process, f"Error: {refusal}")
        try:
            what = "console" if args is None else f"command: {command}"
            try:
                admission = await self.gate.admit(
                    identity, username=connection.username, ip=connection.ip, what=what
                )
            except ApiError as error:
                return _say(process, f"Error: {error.detail}")
            if admission.needs_code and not await self._second_factor(process, admission, args):
                return 1
            opened = await self.gate.start(admission)
            reason, status = "ended", 1
            try:
                files = SessionFiles(self.sessions_dir, opened, self.api_url)
                try:
                    env = files.environment(dict(process.env), terminal)
                    if args is not None:
                        status = await commands.run_command(process, args, env)
                        reason = f"exit status {status}"
                    else:
                        status, reason = await run_console(
                            process, env, idle_seconds=self.settings.ssh_idle_minutes * 60
                        )
                        if reason == "idle timeout":
                            process.stdout.write(RESET_TERMINAL)
                            idle = f"{self.settings.ssh_idle_minutes:g} minutes"
                            _say(process, f"Session closed: no key pressed for {idle}.")
                finally:
                    files.remove()
                return status
            finally:
                await asyncio.shield(self.gate.close(opened, reason=reason))
        finally:
            self.limits.give_back(identity.user_id)

    async def _second_factor(
        self,
        process: asyncssh.SSHServerProcess[bytes],
        admission: Admission,
        args: list[str] | None,
    ) -> bool:
        if args is not None:
            _say(
                process,
                "Error: your account uses MFA, so commands over SSH need the organization to "
                "let an SSH key count as the second factor (settings: ssh_key_counts_as_mfa); "
                "the console asks for a code instead.",
            )
            return False
        for _ in range(CODE_TRIES):
            process.stdout.write(b"Verification code: ")
            code = await _read_code(process)
            if code is None:
                return False
            refused = await self.gate.check_code(admission, code)
            if refused is None:
                process.stdout.write(b"\r\n")
                return True
            process.stdout.write(f"\r\n{refused}\r\n".encode())
        return False


class Connection(asyncssh.SSHServer):
    """One client connection: who it is, once a key proves it."""

    def __init__(self, service: SshService) -> None:
        self.service = service
        self.identity: Identity | None = None
        self.username = ""
        self.ip: str | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else None

    def begin_auth(self, username: str) -> bool:
        self.username = username
        return True  # always authenticate

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        # asyncssh asks twice for the key a client signs with: when offered, then signed.
        if self.identity is not None and self.identity.fingerprint == fingerprint:
            return True
        identity = await self.service.gate.identify(fingerprint)
        if identity is None:
            log.info("refused key %s from %s", fingerprint, self.ip)
            return False
        self.identity = identity
        return True


async def _read_code(process: asyncssh.SSHServerProcess[bytes]) -> str | None:
    """A line typed without echo (the terminal is raw): digits, backspace, enter."""
    typed = ""
    while True:
        try:
            data = await process.stdin.read(64)
        except asyncssh.TerminalSizeChanged:
            continue
        if not data:
            return None
        for char in data.decode(errors="ignore"):
            if char in "\r\n":
                return typed
            if char in "\x7f\x08":
                typed = typed[:-1]
            elif char == "\x03":  # ctrl+c
                return None
            elif char.isprintable() and len(typed) < 32:
                typed += char


def _say(process: asyncssh.SSHServerProcess[bytes], message: str) -> int:
    """Tell the client why its session ends (on its terminal, else on stderr); status 1."""
    stream = process.stderr if process.get_terminal_type() is None else process.stdout
    with contextlib.suppress(asyncssh.Error, BrokenPipeError, ConnectionError):
        stream.write(message.replace("\n", "\r\n").encode() + b"\r\n")
    return 1


def _reachable(host: str) -> str:
    """An address of this machine the console can reach the API at."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)  # noqa: S104


@dataclass(frozen=True)
class Listening:
    port: int
    host_key_fingerprint: str


@contextlib.asynccontextmanager
async def ssh_server(settings: Settings) -> AsyncIterator[Listening]:
    """The SSH server of `settings`, listening; closed on exit."""
    make_private_dir(settings.data_dir)
    host_key_path = settings.ssh_host_key or settings.data_dir / HOST_KEY_FILE
    host_key, made = load_or_create_host_key(host_key_path)
    fingerprint = host_key.get_fingerprint("sha256")
    log.info("%s host key %s: %s", "made" if made else "using", host_key_path, fingerprint)
    engine = create_engine(settings.resolved_database_url)
    tasks = BackgroundTasks()
    # This process publishes no live event: what members do here goes through the API.
    runtime = Runtime(
        settings=settings,
        keys=load_or_create_keys(settings.data_dir),
        sessions=create_sessionmaker(engine),
        events=MemoryEventBus(),
        mailer=mailer_for(settings),
        tasks=tasks,
        # Wrong MFA codes count with the API's sign-in failures when they share Redis.
        limiter=RateLimiter(rate_limit_storage(settings.redis_url)),
    )
    service = SshService(settings, Gate(runtime))
    # Config directories of sessions a stopped server left behind.
    shutil.rmtree(service.sessions_dir, ignore_errors=True)
    acceptor = await asyncssh.create_server(
        service.connection,
        settings.ssh_host,
        settings.ssh_port,
        server_host_keys=[host_key],
        process_factory=service.handle,
        encoding=None,
        line_editor=False,
        keepalive_interval=30,
        keepalive_count_max=4,
    )
    try:
        yield Listening(acceptor.get_port(), fingerprint)
    finally:
        acceptor.close()
        await acceptor.wait_closed()
        await tasks.drain()
        await engine.dispose()
