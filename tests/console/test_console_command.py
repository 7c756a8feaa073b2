"""`upmetr console` as a user runs it: in a terminal, against a real server, signed in with
the saved login. The dashboard comes up with the server's data, and `:q` with enter, typed in
one go as a fast typist or a pasted line sends them, ends it cleanly."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from shared.client import Client
from tests.console.test_cli_account import config_dir, login  # noqa: F401 - fixture
from tests.e2e.upmetr_server import ADMIN_EMAIL, ADMIN_PASSWORD, REPO, ServerProcess

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class Terminal:
    """A command in a pseudo-terminal of 120x40, its screen output kept as plain text."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO
        )
        os.close(slave)
        self.master = master
        self.text = b""

    def wait_for(self, *markers: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(marker in self.text for marker in markers):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"never saw {markers}:\n{self.text[-3000:]!r}")
            self.read(0.1)

    def read(self, wait: float) -> None:
        ready, _, _ = select.select([self.master], [], [], wait)
        if ready:
            with contextlib.suppress(OSError):  # the other end closed
                self.text += ANSI.sub(b"", os.read(self.master, 65536))

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_exit(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.read(0.1)
        return self.process.wait(timeout=1)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self.master)


def test_the_console_opens_on_the_dashboard_with_the_servers_data_and_quits_on_q(
    server: ServerProcess,
    config_dir: Path,  # noqa: F811 - the fixture
) -> None:
    login(server, config_dir)
    with Client(server.url) as api:
        api.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        api.incidents.create(title="disk almost full", severity="warning")
    env = {
        **os.environ,
        "UPMETR_CONFIG_DIR": str(config_dir),
        "TERM": "xterm-256color",
        "PYTHONPATH": str(REPO),
    }
    terminal = Terminal([sys.executable, "-m", "console.cli", "console"], env)
    try:
        terminal.wait_for(b"monitors: 0", b"disk almost full", b"unresolved")
        terminal.type(b":q\r")  # in one write: the keys reach the console together
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()
