"""`upmetr password` and `upmetr login --magic-link` against a real server that emails its
links to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from shared.client import Client, Unauthorized
from tests.console.cli_harness import run
from tests.e2e.upmetr_server import ADMIN_PASSWORD, ServerProcess, free_port
from tests.mail import Inbox

NEW_PASSWORD = "Brand-New-Secret-9#"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 for the whole module, as the server is."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def inbox(smtp_server: tuple[Inbox, int]) -> Inbox:
    return smtp_server[0]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, smtp_server: tuple[Inbox, int]
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("cli-password") / "data"
    data_dir.mkdir()
    process = ServerProcess(data_dir)
    smtp = {"UPMETR_SMTP_HOST": "127.0.0.1", "UPMETR_SMTP_PORT": str(smtp_server[1])}
    process.env.update({**smtp, "UPMETR_SMTP_TLS": "none"})
    process.start()
    yield process
    process.stop()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


def new_account(server: ServerProcess, name: str) -> str:
    email = f"{name}@example.com"
    server.create_user(email, ADMIN_PASSWORD, "--org", name)
    return email


def signs_in(server: ServerProcess, email: str, password: str) -> bool:
    with Client(server.url) as api:
        try:
            api.auth.login(email, password)
        except Unauthorized:
            return False
    return True


def emailed_token(inbox: Inbox, to: str, path: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in inbox.messages:
            if message["To"] == to:
                found = re.search(rf"/{path}\?token=([A-Za-z0-9_\-]+)", message.get_content())
                if found:
                    return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no {path} link emailed to {to}")


def test_password_changes_the_password_asking_hidden_for_the_current_and_twice_the_new(
    server: ServerProcess, config_dir: Path
) -> None:
    email = new_account(server, "pat")
    signed_in = run(config_dir, "login", "--url", server.url, "--email", email,
                    "--password", ADMIN_PASSWORD)  # fmt: skip
    assert signed_in.exit_code == 0, signed_in.output
    result = run(
        config_dir,
        "password",
        "--json",
        input=f"{ADMIN_PASSWORD}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"email": email, "password_changed": True}
    assert "Current password" in result.stderr and "Repeat for confirmation" in result.stderr
    assert NEW_PASSWORD not in result.output and ADMIN_PASSWORD not in result.output
    assert signs_in(server, email, NEW_PASSWORD)
    assert not signs_in(server, email, ADMIN_PASSWORD)
    # This login is kept: the stored credentials still work.
    assert run(config_dir, "whoami").exit_code == 0


def test_a_wrong_current_password_is_an_error_and_changes_nothing(
    server: ServerProcess, config_dir: Path
) -> None:
    email = new_account(server, "quinn")
    run(config_dir, "login", "--url", server.url, "--email", email, "--password", ADMIN_PASSWORD)
    result = run(
        config_dir, "password", input=f"Not-The-Password-1!\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "Error: current_password is incorrect"
    assert signs_in(server, email, ADMIN_PASSWORD)


def test_password_needs_a_login(config_dir: Path) -> None:
    result = run(config_dir, "password")
    assert result.exit_code == 1
    assert "Error: not logged in" in result.stderr


def test_password_reset_sets_the_new_password_from_an_emailed_token(
    server: ServerProcess, inbox: Inbox, config_dir: Path
) -> None:
    email = new_account(server, "rory")
    asked = httpx.post(f"{server.url}/api/v1/auth/password/forgot", json={"email": email})
    assert asked.status_code == 202
    token = emailed_token(inbox, email, "reset-password")
    result = run(
        config_dir, "password", "--reset", token, "--url", server.url,
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Password reset" in result.stdout and "upmetr login" in result.stdout
    assert signs_in(server, email, NEW_PASSWORD)
    again = run(
        config_dir, "password", "--reset", token, "--url", server.url,
        input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
    )  # fmt: skip
    assert again.exit_code == 1
    assert "invalid or expired token" in again.stderr


def test_login_with_an_emailed_magic_link_stores_a_working_login_once(
    server: ServerProcess, inbox: Inbox, config_dir: Path
) -> None:
    email = new_account(server, "sam")
    asked = httpx.post(f"{server.url}/api/v1/auth/magic-link", json={"email": email})
    assert asked.status_code == 202
    token = emailed_token(inbox, email, "magic-link")
    result = run(config_dir, "login", "--url", server.url, "--magic-link", token)
    assert result.exit_code == 0, result.output
    assert f"as {email}" in result.stdout
    me = json.loads(run(config_dir, "whoami", "--json").stdout)
    assert me["user"]["email"] == email
    assert json.loads((config_dir / "credentials.json").read_text())["email"] == email
    again = run(config_dir / "other", "login", "--url", server.url, "--magic-link", token)
    assert again.exit_code == 1
    assert "Invalid or expired sign-in link" in again.stderr
