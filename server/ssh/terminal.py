"""The console of one SSH session: `upmetr console` in a pseudo-terminal of its own.

Each session runs the console as a child process on a new pty whose controlling terminal it
is, so Textual sees a real terminal: window changes reach it as SIGWINCH (TIOCSWINSZ on the
pty), and the end of the session as SIGHUP. The child talks to the API over HTTP with the
session's tokens, kept in a config directory of its own (0700) that goes with the session.
It gets no environment of the server's (which holds its secrets): only what a console needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import shutil
import signal
import struct
import sys
import tempfile
import termios
from collections.abc import Callable
from pathlib import Path

import asyncssh

from console.config import CONFIG_DIR_ENV, Credentials, save_credentials
from server.ssh.gate import Opened

# The client's terminal settings a console may use; anything else it sends is dropped.
PASSED_ENV = ("COLORTERM", "LANG", "LC_ALL", "TERM_PROGRAM", "NO_COLOR")
STOP_SECONDS = 3.0


class SessionFiles:
    """The session's config directory: its tokens, and the console's preferences."""

    def __init__(self, root: Path, opened: Opened, api_url: str) -> None:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f"{opened.session_id}-", dir=root))
        self._api_url = api_url
        email = opened.admission.identity.email
        credentials = Credentials(api_url, opened.access_token, opened.refresh_token, email)
        save_credentials(credentials, self.path)

    def environment(self, client: dict[str, str], terminal: str | None) -> dict[str, str]:
        env = {name: client[name] for name in PASSED_ENV if name in client}
        env.setdefault("LANG", "C.UTF-8")
        env.update(
            {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self.path),
                CONFIG_DIR_ENV: str(self.path),
                "UPMETR_URL": self._api_url,
                "TERM": terminal or "xterm-256color",
            }
        )
        return env

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def set_size(descriptor: int, columns: int, rows: int) -> None:
    """The pty's window size; the kernel tells the console with SIGWINCH."""
    fcntl.ioctl(descriptor, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def _controlling_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is its stdin (the pty)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def run_console(
    process: asyncssh.SSHServerProcess[bytes],
    env: dict[str, str],
    *,
    idle_seconds: float,
    on_input: Callable[[], None] | None = None,
) -> tuple[int, str]:
    """Run the console until it quits, the client goes, or no key comes for `idle_seconds`:
    (exit status, why it ended)."""
    columns, rows, _, _ = process.get_terminal_size()
    master, slave = pty.openpty()
    set_size(slave, columns or 80, rows or 24)
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "console.cli",
            "console",
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=env["HOME"],
            # Only setsid and an ioctl run between fork and exec.
            preexec_fn=_controlling_terminal,
        )
    finally:
        os.close(slave)
    screen = asyncio.create_task(_screen_to_client(master, process))
    try:
        reason = await _keys_to_console(master, process, child, idle_seconds, on_input)
    finally:
        await _stop(child)
        screen.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await screen
        os.close(master)
    return (child.returncode or 0, reason)


async def _screen_to_client(master: int, process: asyncssh.SSHServerProcess[bytes]) -> None:
    """Copy what the console draws to the client, no faster than the client takes it."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(master), "rb", 0)
    )
    try:
        while True:
            try:
                data = await reader.read(1 << 16)
            except OSError:  # EIO: the console closed the pty
                return
            if not data:
                return
            process.stdout.write(data)
            await process.stdout.drain()
    except (asyncssh.Error, BrokenPipeError, ConnectionError):
        return
    finally:
        transport.close()


async def _keys_to_console(
    master: int,
    process: asyncssh.SSHServerProcess[bytes],
    child: asyncio.subprocess.Process,
    idle_seconds: float,
    on_input: Callable[[], None] | None,
) -> str:
    """Copy keys and window changes to the console; the reason the session ends."""
    exited = asyncio.ensure_future(child.wait())
    try:
        while True:
            read = asyncio.ensure_future(process.stdin.read(4096))
            done, _ = await asyncio.wait(
                {read, exited}, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if exited in done:
                read.cancel()
                return "console quit"
            if not done:
                read.cancel()
                return "idle timeout"
            try:
                data = read.result()
            except asyncssh.TerminalSizeChanged as change:
                set_size(master, change.width, change.height)
                continue
            except (asyncssh.Error, BrokenPipeError, ConnectionError):
                return "client disconnected"
            if not data:
                return "client disconnected"
            if on_input is not None:
                on_input()
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(master, data)
    finally:
        exited.cancel()


async def _stop(child: asyncio.subprocess.Process) -> None:
    """SIGHUP, as a closed terminal sends; SIGKILL if it lingers."""
    if child.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGHUP)
    try:
        await asyncio.wait_for(child.wait(), STOP_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        await child.wait()
