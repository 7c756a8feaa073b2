"""`upmetr console` as a user runs it: in a terminal, against a real server, signed in with
the saved login. The dashboard comes up with the server's data, and `:q` with enter, typed in
one go as a fast typist or a pasted line sends them, ends it cleanly. Without a terminal it
says so, when its terminal goes away it ends, and a server that never answers still gets the
view drawn."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from console.config import CONFIG_DIR_ENV, Credentials, save_credentials
from shared.client import Client
from tests.console.test_cli_account import config_dir, login  # noqa: F401 - fixture
from tests.e2e.upmetr_server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OUTSIDE_CHECKOUT,
    UPMETR,
    ServerProcess,
)
from tests.terminal import Terminal

CONSOLE = [UPMETR, "console"]


def console_env(config: Path) -> dict[str, str]:
    return {
        **os.environ,
        "UPMETR_CONFIG_DIR": str(config),
        "TERM": "xterm-256color",
    }


def test_the_console_opens_on_the_dashboard_with_the_servers_data_and_quits_on_q(
    server: ServerProcess,
    config_dir: Path,  # noqa: F811 - the fixture
) -> None:
    login(server, config_dir)
    with Client(server.url) as api:
        api.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        api.incidents.create(title="disk almost full", severity="warning")
    terminal = Terminal(CONSOLE, console_env(config_dir))
    try:
        terminal.wait_for(b"monitors: 0", b"disk almost full", b"unresolved")
        terminal.type(b":q\r")  # in one write: the keys reach the console together
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()


def test_without_a_terminal_the_console_says_it_needs_one(
    server: ServerProcess,
    config_dir: Path,  # noqa: F811 - the fixture
) -> None:
    login(server, config_dir)
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        CONSOLE,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=console_env(config_dir),
        cwd=OUTSIDE_CHECKOUT,
        timeout=30,
    )
    assert result.returncode == 1
    assert b"the console needs a terminal" in result.stderr


def test_the_console_ends_when_its_terminal_closes_without_a_hang_up_signal(
    server: ServerProcess,
    config_dir: Path,  # noqa: F811 - the fixture
) -> None:
    """Started in a session of its own, the console gets no SIGHUP when the terminal's other
    end closes; its reads of the terminal return nothing from then on. It must end rather
    than spin on them."""
    login(server, config_dir)
    terminal = Terminal(CONSOLE, console_env(config_dir), own_session=True)
    try:
        terminal.wait_for(b"monitors: 0")
        os.close(terminal.master)
        assert terminal.process.wait(timeout=15) == 0
    finally:
        terminal.close()


def test_against_a_server_that_never_answers_the_view_is_drawn_all_the_same(
    config_dir: Path,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first frame waits for the view's first load, but only briefly: a server that
    takes connections and never answers gets the dashboard drawn, still connecting, rather
    than a blank terminal."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv(CONFIG_DIR_ENV, str(config_dir))
        save_credentials(Credentials(url, "access", "refresh", ADMIN_EMAIL))
        terminal = Terminal(CONSOLE, console_env(config_dir))
        try:
            terminal.wait_for(b"dashboard", b"connecting", b"Command", timeout=20)
        finally:
            terminal.close()
