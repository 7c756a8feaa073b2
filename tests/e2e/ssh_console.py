"""A real `upmetr serve` with `upmetr ssh-serve` beside it, and an asyncssh client that
reads the console's screen as text, for the console-over-SSH tests and benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import httpx

from tests.e2e.upmetr_server import OUTSIDE_CHECKOUT, UPMETR, ServerProcess, free_port
from tests.terminal import ANSI

PASSWORD = "Correct-Horse-42!"


class SshServe:
    """`upmetr ssh-serve` in a subprocess, sharing `server`'s data directory."""

    def __init__(self, server: ServerProcess, **settings: str) -> None:
        self.port = free_port()
        self.env = {**server.env, **{f"UPMETR_SSH_{k.upper()}": v for k, v in settings.items()}}
        self.log_path = server.data_dir.parent / f"ssh-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own command and arguments
            [UPMETR, "ssh-serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--api-url", server.url],
            env=self.env, cwd=OUTSIDE_CHECKOUT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while b"listening on" not in self.log_path.read_bytes():
            assert self.process.poll() is None and time.monotonic() < deadline, self.log()
            time.sleep(0.05)
        words = self.log().split("SSH host key fingerprint: ", 1)[1]
        self.host_key_fingerprint = words.split()[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Member:
    email: str
    token: str
    key: asyncssh.SSHKey
    api_url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(
            method, f"{self.api_url}/api/v1{path}", headers=self.headers, timeout=30, **kwargs
        )  # type: ignore[arg-type]


def member(server: ServerProcess, email: str) -> Member:
    """A new account (superadmin of an organization of its own) with a registered SSH key."""
    server.create_user(email, PASSWORD)
    response = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    person = Member(email, response.json()["access_token"], new_key(), server.url)
    public = person.key.export_public_key("openssh").decode()
    assert person.api("POST", "/users/me/ssh-keys", json={"public_key": public}).status_code == 201
    return person


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


async def connect(
    port: int, key: asyncssh.SSHKey, username: str = "oncall"
) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1", port, username=username, client_keys=[key], known_hosts=None,
        agent_path=None, preferred_auth=["publickey"],
    )  # fmt: skip


async def run(port: int, key: asyncssh.SSHKey, command: str) -> asyncssh.SSHCompletedProcess:
    """An exec request, as `ssh host <command>`."""
    async with await connect(port, key) as connection:
        return await connection.run(command, check=False, timeout=60)


class Screen:
    """A console session's output as plain text (escape sequences dropped)."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes]) -> None:
        self.process = process
        self.text = ""
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(asyncssh.Error, ConnectionError):
            while data := await self.process.stdout.read(1 << 16):
                self.text += ANSI.sub(b"", data).decode(errors="replace")

    async def wait_for(self, *words: str, timeout: float = 30.0) -> float:
        """Seconds until every word showed (after what was shown so far); AssertionError
        when not within `timeout`."""
        started = time.monotonic()
        while not all(word in self.text for word in words):
            if time.monotonic() - started > timeout or self._reader.done():
                raise AssertionError(f"never saw {words}:\n{self.text[-3000:]}")
            await asyncio.sleep(0.02)
        return time.monotonic() - started

    def forget(self) -> None:
        """Look only at what comes next."""
        self.text = ""

    def type(self, keys: str) -> None:
        self.process.stdin.write(keys.encode())

    async def closed(self, timeout: float = 30.0) -> int | None:
        await asyncio.wait_for(self.process.wait_closed(), timeout)
        await self._reader
        return self.process.exit_status


@contextlib.asynccontextmanager
async def console(
    port: int, key: asyncssh.SSHKey, *, size: tuple[int, int] = (100, 30), username: str = "oncall"
) -> AsyncIterator[Screen]:
    """A console session in a pseudo-terminal of `size` (columns, rows), as `ssh -t`."""
    async with await connect(port, key, username) as connection:
        process = await connection.create_process(
            term_type="xterm-256color", term_size=size, encoding=None
        )
        screen = Screen(process)
        try:
            yield screen
        finally:
            process.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait_closed(), 10)


def console_pids(data_dir: Path) -> list[int]:
    """The console processes ssh-serve runs now (their config directories name them)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            environ = (proc / "environ").read_bytes()
            if f"UPMETR_CONFIG_DIR={data_dir}/ssh-sessions/".encode() in environ:
                found.append(int(proc.name))
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
