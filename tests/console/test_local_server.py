"""The in-process server behind `upmetr up`, its first admin and the saved login, for real."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from console.cli.up_command import up
from console.config import Credentials, load_credentials, save_credentials
from console.local_server import (
    LOCAL_ADMIN_EMAIL,
    LocalServer,
    LocalServerError,
    ensure_local_admin,
    local_credentials,
    sign_in_local,
)
from server.auth.passwords import check_policy
from server.config import Settings
from shared.client import Client
from tests.conftest import FAST_ARGON2
from tests.e2e.upmetr_server import OUTSIDE_CHECKOUT, UPMETR, free_port


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Credentials go to the test's own config dir, never the user's."""
    path = tmp_path / "config"
    monkeypatch.setenv("UPMETR_CONFIG_DIR", str(path))
    return path


@pytest.fixture
def local(settings: Settings) -> Iterator[LocalServer]:
    """A local server on a free port, on the test's migrated database (no users yet)."""
    with LocalServer(settings.model_copy(update={"port": 0})) as server:
        yield server


def user_emails(settings: Settings) -> list[str]:
    engine = create_engine(f"sqlite:///{settings.data_dir / 'upmetr.db'}")
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT email FROM user")))
    finally:
        engine.dispose()


def refuses_connections(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=2)
    except httpx.ConnectError:
        return True
    return False


def test_local_server_migrates_a_new_data_dir_answers_health_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "new", port=0, **FAST_ARGON2)  # type: ignore[arg-type]
    server = LocalServer(settings)
    url = server.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        health = httpx.get(f"{url}/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["database"] == "ok"
        assert server.running
    finally:
        server.stop()
    assert not server.running
    assert refuses_connections(url)
    assert "upmetr" in (tmp_path / "new" / "server.log").read_text()


def test_stopping_twice_is_harmless(local: LocalServer) -> None:
    local.stop()
    local.stop()
    assert not local.running


def test_a_taken_port_gives_a_clear_error(local: LocalServer, settings: Settings) -> None:
    port = int(local.url.rsplit(":", 1)[1])
    second = LocalServer(settings.model_copy(update={"port": port}))
    with pytest.raises(LocalServerError, match=f"port {port} is in use.*--port"):
        second.start()
    assert not second.running
    assert httpx.get(f"{local.url}/health", timeout=5).status_code == 200


def test_first_run_creates_one_platform_admin_whose_password_signs_in(
    local: LocalServer, settings: Settings
) -> None:
    password = ensure_local_admin(settings)
    assert password is not None
    check_policy(password)
    assert user_emails(settings) == [LOCAL_ADMIN_EMAIL]
    credentials = sign_in_local(local.url, LOCAL_ADMIN_EMAIL, password)
    with Client(local.url, access_token=credentials.access_token) as api:
        me = api.auth.me()
    assert me.user.email == LOCAL_ADMIN_EMAIL
    assert me.user.is_platform_admin
    assert me.role.value == "superadmin"
    # A local install is the whole product: every module, no limit.
    assert me.plan.code == "self_hosted"
    assert "audit_logs" in me.plan.modules
    assert me.plan.limits["min_check_interval_seconds"] is None


def test_second_run_creates_no_other_admin(local: LocalServer, settings: Settings) -> None:
    assert ensure_local_admin(settings) is not None
    assert ensure_local_admin(settings) is None
    assert user_emails(settings) == [LOCAL_ADMIN_EMAIL]


def test_generated_passwords_differ(local: LocalServer, settings: Settings) -> None:
    first = ensure_local_admin(settings)
    other = settings.model_copy(update={"data_dir": settings.data_dir.parent / "other"})
    with LocalServer(other.model_copy(update={"port": 0})):
        second = ensure_local_admin(other)
    assert first and second and first != second


def test_first_run_saves_credentials_readable_only_by_the_user(
    local: LocalServer, settings: Settings, config_dir: Path
) -> None:
    credentials = local_credentials(local.url, ensure_local_admin(settings))
    assert credentials is not None
    path = config_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["url"] == local.url
    assert saved["email"] == LOCAL_ADMIN_EMAIL
    assert saved["refresh_token"] == credentials.refresh_token


def test_next_run_reuses_saved_credentials_that_still_work(
    local: LocalServer, settings: Settings
) -> None:
    first = local_credentials(local.url, ensure_local_admin(settings))
    again = local_credentials(local.url, ensure_local_admin(settings))
    assert again == first
    assert load_credentials() == first


def test_an_expired_access_token_is_refreshed_and_the_new_pair_saved(
    local: LocalServer, settings: Settings
) -> None:
    first = local_credentials(local.url, ensure_local_admin(settings))
    assert first is not None
    save_credentials(Credentials(local.url, "not-a-token", first.refresh_token, first.email))
    again = local_credentials(local.url, None)
    assert again is not None
    assert again.refresh_token != first.refresh_token  # refresh tokens rotate
    assert load_credentials() == again


def test_revoked_credentials_are_not_reused_and_are_forgotten(
    local: LocalServer, settings: Settings
) -> None:
    first = local_credentials(local.url, ensure_local_admin(settings))
    assert first is not None
    with Client(local.url, access_token=first.access_token) as api:
        api.auth.logout(first.refresh_token)
    assert local_credentials(local.url, None) is None
    assert load_credentials() is None


def test_credentials_for_another_server_are_not_reused_nor_deleted(
    local: LocalServer, settings: Settings
) -> None:
    ensure_local_admin(settings)
    elsewhere = Credentials("http://127.0.0.1:1", "access", "refresh", "someone@example.com")
    save_credentials(elsewhere)
    assert local_credentials(local.url, None) is None
    assert load_credentials() == elsewhere


def test_up_refuses_a_taken_port_with_a_clear_error(tmp_path: Path, config_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            up,
            ["--port", str(port), "--data-dir", str(tmp_path / "data")],
            env={"UPMETR_CONFIG_DIR": str(config_dir)},
        )
    assert result.exit_code == 1
    assert f"port {port} is in use" in result.output
    assert not (config_dir / "credentials.json").exists()


class UpProcess:
    """`upmetr up --no-console` in a subprocess, stopped with Ctrl-C (SIGINT) like a person."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.output = tmp_path / f"up-{time.monotonic_ns()}.out"
        env = {
            **os.environ,
            "UPMETR_DATA_DIR": str(tmp_path / "data"),
            "UPMETR_CONFIG_DIR": str(tmp_path / "config"),
            "UPMETR_ARGON2_TIME_COST": "1",
            "UPMETR_ARGON2_MEMORY_COST": "1024",
            "UPMETR_ARGON2_PARALLELISM": "1",
        }
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [UPMETR, "up", "--port", str(port), "--no-console"],
                env=env, cwd=OUTSIDE_CHECKOUT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_until_serving(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while "Serving" not in self.text():
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.1)
        return self.text()

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def test_up_creates_the_admin_once_signs_in_and_serves_until_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    first = UpProcess(tmp_path, port)
    output = first.wait_until_serving()
    assert f"Created the local admin {LOCAL_ADMIN_EMAIL}  password: " in output
    password = output.split("password: ", 1)[1].split()[0]
    assert httpx.get(f"{first.url}/health", timeout=5).status_code == 200
    saved_path = tmp_path / "config" / "credentials.json"
    assert stat.S_IMODE(saved_path.stat().st_mode) == 0o600
    saved = json.loads(saved_path.read_text())
    assert saved["url"] == first.url
    assert first.interrupt() == 0
    assert refuses_connections(first.url)
    assert "server.log" in output
    assert not any("password" in line for line in (tmp_path / "data" / "server.log").open())

    second = UpProcess(tmp_path, port)
    output = second.wait_until_serving()
    try:
        assert "Created" not in output
        assert "No saved login" not in output
        assert json.loads(saved_path.read_text())["refresh_token"] == saved["refresh_token"]
        assert sign_in_local(second.url, LOCAL_ADMIN_EMAIL, password).email == LOCAL_ADMIN_EMAIL
    finally:
        assert second.interrupt() == 0


def test_in_a_terminal_up_shows_the_first_password_and_waits_for_enter_before_the_console(
    tmp_path: Path,
) -> None:
    """The console takes the whole screen: the password printed once must be read before."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "UPMETR_DATA_DIR": str(tmp_path / "data"),
        "UPMETR_CONFIG_DIR": str(tmp_path / "config"),
        **{f"UPMETR_{name.upper()}": str(value) for name, value in FAST_ARGON2.items()},
    }
    terminal, end = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [UPMETR, "up", "--port", str(port)], stdin=end, stdout=end, stderr=end,
        env=env, cwd=OUTSIDE_CHECKOUT, start_new_session=True,
    )  # fmt: skip
    os.close(end)
    shown = b""

    def read(seconds: float) -> None:
        nonlocal shown
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if select.select([terminal], [], [], left)[0]:
                try:
                    shown += os.read(terminal, 65536)
                except OSError:  # the process closed the terminal
                    return

    try:
        deadline = time.monotonic() + 60
        while b"Press Enter" not in shown:
            assert process.poll() is None and time.monotonic() < deadline, shown
            read(0.2)
        read(1.0)  # time enough for a console that would not wait to start drawing
        assert f"Created the local admin {LOCAL_ADMIN_EMAIL}  password: ".encode() in shown
        assert b"upmetr password" in shown
        assert b"\x1b[?1049h" not in shown  # the console's alternate screen never opened
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        assert (tmp_path / "config" / "credentials.json").exists()
        process.send_signal(signal.SIGINT)  # Ctrl-C at the prompt: stop, without the console
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        os.close(terminal)
    assert refuses_connections(url)


async def test_after_the_first_run_the_console_opens_signed_in_as_the_local_admin(
    local: LocalServer, settings: Settings
) -> None:
    """What `upmetr up` does before it hands over to the console: the saved login works."""
    from console.app import UpmetrApp
    from console.screens.dashboard import DashboardScreen
    from tests.console.console_harness import until

    url = local.url
    # The steps `up` runs before the console, each synchronous: off the test's event loop.
    password = await asyncio.to_thread(ensure_local_admin, settings)
    assert await asyncio.to_thread(local_credentials, url, password) is not None
    app = UpmetrApp(url, credentials=load_credentials(), remember=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        # The dashboard opens while the saved tokens are checked; the identity follows.
        await until(pilot, lambda: app.identity.startswith(LOCAL_ADMIN_EMAIL))
