"""A real `upmetr serve` in a subprocess, for end-to-end and CLI tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests import postgres

# The installed `upmetr` command beside this interpreter, run outside the checkout: a
# subprocess imports the installed package, as a user's does.
UPMETR = str(Path(sys.executable).with_name("upmetr"))
OUTSIDE_CHECKOUT = Path(tempfile.gettempdir())
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Correct-Horse-42!"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    def __init__(self, data_dir: Path, port: int | None = None, *args: str) -> None:
        self.args = args  # more `serve` arguments, such as ("--role", "api")
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "UPMETR_DATA_DIR": str(data_dir),
            "UPMETR_ARGON2_TIME_COST": "1",
            "UPMETR_ARGON2_MEMORY_COST": "1024",
            "UPMETR_ARGON2_PARALLELISM": "1",
            "UPMETR_DEFAULT_PLAN": "enterprise",
            "UPMETR_RATE_LIMIT_USER": "10000/minute",
            "UPMETR_RATE_LIMIT_ANON": "10000/minute",
            "UPMETR_LOGIN_FAILURE_LIMIT": "1000/minute",
            "UPMETR_LOGIN_FAILURE_LIMIT_IP": "1000/minute",
            "UPMETR_ALLOW_PRIVATE_TARGETS": "true",  # the test targets run on 127.0.0.1
        }
        if postgres.enabled():
            self.env["UPMETR_DATABASE_URL"] = postgres.database_for(data_dir)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own command and arguments
            [UPMETR, *args],
            env=self.env,
            cwd=OUTSIDE_CHECKOUT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def create_user(self, email: str, password: str = ADMIN_PASSWORD, *extra: str) -> None:
        done = self.cli("users", "create", "--email", email, "--password", password, *extra)
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self, timeout: float = 30.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own command and arguments
            [UPMETR, "serve", "--port", str(self.port), *self.args],
            env=self.env,
            cwd=OUTSIDE_CHECKOUT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait; returns the exit status (killed servers fail the caller)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""
