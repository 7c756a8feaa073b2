"""A command in a pseudo-terminal, as a person runs it, for end-to-end tests."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.e2e.upmetr_server import OUTSIDE_CHECKOUT

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class Terminal:
    """A command in a pseudo-terminal (120x40 unless told), its screen output kept as plain text."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        *,
        own_session: bool = False,
        size: tuple[int, int] = (120, 40),
        cwd: Path = OUTSIDE_CHECKOUT,
    ) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=own_session,  # no controlling terminal: no SIGHUP when it closes
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
        with contextlib.suppress(OSError):  # closed already
            os.close(self.master)
