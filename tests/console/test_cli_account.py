"""`upmetr login/whoami/orgs/api-keys/logout` against a real server subprocess; `users create`."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from console.cli import main
from tests.console.cli_harness import run
from tests.e2e.upmetr_server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OUTSIDE_CHECKOUT,
    UPMETR,
    ServerProcess,
)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


def login(server: ServerProcess, config_dir: Path) -> Result:
    result = run(
        config_dir, "login", "--url", server.url, "--email", ADMIN_EMAIL,
        "--password", ADMIN_PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def test_login_stores_credentials_readable_only_by_the_user(
    server: ServerProcess, config_dir: Path
) -> None:
    result = login(server, config_dir)
    assert "Logged in" in result.stdout
    path = config_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert stored["url"] == server.url
    assert stored["email"] == ADMIN_EMAIL
    assert stored["access_token"]
    assert stored["refresh_token"]


def test_login_prompts_for_missing_email_and_password(
    server: ServerProcess, config_dir: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["login", "--url", server.url],
        input=f"{ADMIN_EMAIL}\n{ADMIN_PASSWORD}\n",
        env={"UPMETR_CONFIG_DIR": str(config_dir)},
    )
    assert result.exit_code == 0, result.output
    assert ADMIN_PASSWORD not in result.stdout  # the password prompt is hidden
    assert (config_dir / "credentials.json").exists()


def test_whoami_json_describes_the_signed_in_user(server: ServerProcess, config_dir: Path) -> None:
    login(server, config_dir)
    result = run(config_dir, "whoami", "--json")
    assert result.exit_code == 0, result.output
    me = json.loads(result.stdout)
    assert me["user"]["email"] == ADMIN_EMAIL
    assert me["role"] == "superadmin"
    table = run(config_dir, "whoami")
    assert ADMIN_EMAIL in table.stdout
    assert "superadmin" in table.stdout


def test_orgs_list_and_switch(server: ServerProcess, config_dir: Path) -> None:
    login(server, config_dir)
    result = run(config_dir, "orgs", "list", "--json")
    assert result.exit_code == 0, result.output
    orgs = json.loads(result.stdout)
    assert [(o["slug"], o["role"], o["current"]) for o in orgs] == [("acme", "superadmin", True)]
    table = run(config_dir, "orgs", "list")
    assert table.stdout.splitlines()[0].split() == ["ID", "SLUG", "NAME", "ROLE"]
    before = json.loads((config_dir / "credentials.json").read_text())
    switched = run(config_dir, "orgs", "switch", "acme")
    assert switched.exit_code == 0, switched.output
    after = json.loads((config_dir / "credentials.json").read_text())
    assert after["refresh_token"] != before["refresh_token"]
    missing = run(config_dir, "orgs", "switch", "nowhere")
    assert missing.exit_code == 1
    assert "Error: " in missing.stderr


def test_api_keys_create_list_revoke_and_use_from_the_environment(
    server: ServerProcess, config_dir: Path
) -> None:
    login(server, config_dir)
    created = run(
        config_dir, "api-keys", "create", "--name", "ci", "--role", "viewer",
        "--expires-at", "2099-01-01T00:00:00Z", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)
    assert key["key"].startswith("upk_")
    assert key["role"] == "viewer"

    listed = json.loads(run(config_dir, "api-keys", "list", "--json").stdout)
    assert key["id"] in [k["id"] for k in listed]
    assert all("key" not in k for k in listed)
    assert "ci" in run(config_dir, "api-keys", "list").stdout

    # A script with no login at all, only the key and the URL.
    scripted = run(
        config_dir / "elsewhere", "whoami", "--json",
        env={"UPMETR_API_KEY": key["key"], "UPMETR_URL": server.url},
    )  # fmt: skip
    assert scripted.exit_code == 0, scripted.output
    assert json.loads(scripted.stdout)["role"] == "viewer"

    revoked = run(config_dir, "api-keys", "revoke", str(key["id"]))
    assert revoked.exit_code == 0, revoked.output
    after = run(
        config_dir / "elsewhere", "whoami",
        env={"UPMETR_API_KEY": key["key"], "UPMETR_URL": server.url},
    )  # fmt: skip
    assert after.exit_code == 1
    assert after.stderr.startswith("Error: ")


def test_human_api_key_create_prints_the_key_alone_on_stdout_and_the_words_on_stderr(
    server: ServerProcess, config_dir: Path
) -> None:
    """So `KEY=$(upmetr api-keys create ...)`, as the README shows, keeps just the key."""
    login(server, config_dir)
    result = run(config_dir, "api-keys", "create", "--name", "laptop")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("upk_")
    assert len(result.stdout.split()) == 1
    assert "will not be shown again" in result.stderr


def test_bad_password_prints_the_servers_detail_and_exits_1(
    server: ServerProcess, config_dir: Path
) -> None:
    result = run(
        config_dir, "login", "--url", server.url, "--email", ADMIN_EMAIL,
        "--password", "Wrong-Password-1!",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (config_dir / "credentials.json").exists()


def test_commands_without_login_say_so(config_dir: Path) -> None:
    result = run(config_dir, "whoami")
    assert result.exit_code == 1
    assert "Error: not logged in" in result.stderr
    assert "upmetr login" in result.stderr


def test_unreachable_server_is_a_readable_error(config_dir: Path) -> None:
    result = run(
        config_dir, "login", "--url", "http://127.0.0.1:9", "--email", "a@example.com",
        "--password", "x",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Error: cannot reach the Upmetr server at http://127.0.0.1:9/api/v1" in result.stderr
    assert "Traceback" not in result.output


def test_logout_ends_the_session_and_deletes_the_credentials(
    server: ServerProcess, config_dir: Path
) -> None:
    login(server, config_dir)
    refresh_token = json.loads((config_dir / "credentials.json").read_text())["refresh_token"]
    result = run(config_dir, "logout")
    assert result.exit_code == 0, result.output
    assert not (config_dir / "credentials.json").exists()
    from shared.client import Client, Unauthorized

    with Client(server.url) as api, pytest.raises(Unauthorized):
        api.auth.refresh(refresh_token)
    assert "Not logged in" in run(config_dir, "logout").stdout


def users_create(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`upmetr users create` on the server's database, in an environment of its own: the
    server's UPMETR_DEFAULT_PLAN (enterprise) is not set for it, as when set for `serve` only."""
    env = {k: v for k, v in server.env.items() if k != "UPMETR_DEFAULT_PLAN"}
    return subprocess.run(  # noqa: S603 - our own command and arguments
        [UPMETR, "users", "create", "--password", ADMIN_PASSWORD, *args],
        env=env, cwd=OUTSIDE_CHECKOUT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server not started yet, on an empty data directory."""
    (tmp_path / "data").mkdir()
    process = ServerProcess(tmp_path / "data")
    yield process
    process.kill()


def test_users_create_names_the_plan_it_used_and_takes_another_with_plan(
    fresh_server: ServerProcess, config_dir: Path
) -> None:
    default = users_create(fresh_server, "--email", "first@example.com")
    chosen = users_create(fresh_server, "--email", ADMIN_EMAIL, "--plan", "pro")
    fresh_server.start()
    login(fresh_server, config_dir)
    whoami = run(config_dir, "whoami", "--json")

    assert default.returncode == 0, default.stderr
    assert "on plan self_hosted (the default; --plan CODE chooses another)" in default.stdout
    assert chosen.returncode == 0, chosen.stderr
    assert "on plan pro (from --plan)" in chosen.stdout
    assert json.loads(whoami.stdout)["plan"]["code"] == "pro"


def test_users_create_refuses_a_plan_the_database_does_not_have_in_one_line(
    fresh_server: ServerProcess,
) -> None:
    refused = users_create(fresh_server, "--email", ADMIN_EMAIL, "--plan", "gold")
    retried = users_create(fresh_server, "--email", ADMIN_EMAIL, "--plan", "free")

    assert refused.returncode == 1
    assert refused.stderr == (
        "Error: unknown plan 'gold': the plans are enterprise, free, pro, self_hosted\n"
    )
    assert retried.returncode == 0, retried.stderr  # nothing was created the first time
