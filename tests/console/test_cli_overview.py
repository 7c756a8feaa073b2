"""`upmetr overview` against a real server subprocess: the counts and what is wrong now."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from console.cli import main
from shared.client import Client
from tests.e2e.upmetr_server import ADMIN_EMAIL, ADMIN_PASSWORD, ServerProcess


@pytest.fixture
def config_dir(tmp_path: Path, server: ServerProcess) -> Path:
    """A config folder holding a login as the server's admin (superadmin of Acme)."""
    path = tmp_path / "config"
    result = run(
        path, "login", "--url", server.url, "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD
    )
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url) as client:
        client.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield client


def run(config_dir: Path, *args: str) -> Result:
    env = {"UPMETR_CONFIG_DIR": str(config_dir), "UPMETR_API_KEY": "", "UPMETR_URL": ""}
    return CliRunner().invoke(main, list(args), env=env)


def test_overview_prints_the_counts_and_the_unresolved_incidents(
    config_dir: Path, api: Client
) -> None:
    incident = api.incidents.create(title="CLI overview: checkout slow", severity="critical")
    shown = run(config_dir, "overview")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].split()[0] == "monitors"
    incidents = next(line for line in lines if line.startswith("incidents"))
    assert "unresolved" in incidents and "critical" in incidents
    assert any(line.startswith("costs") for line in lines)
    assert "Unresolved, newest first" in lines
    assert any(line.split()[:3] == [str(incident.id), "open", "critical"] for line in lines)

    as_json = run(config_dir, "overview", "--json")
    assert as_json.exit_code == 0, as_json.output
    found = json.loads(as_json.stdout)
    assert incident.id in [item["id"] for item in found["incidents"]["newest"]]
    assert found["monitors"]["latency"] == []  # nothing to draw in a script
    assert found["agents"] == {"total": 0, "online": 0, "offline": 0}


def test_overview_without_a_login_says_how_to_sign_in(tmp_path: Path) -> None:
    result = run(tmp_path / "nobody", "overview")
    assert result.exit_code == 1
    assert "login" in result.output
