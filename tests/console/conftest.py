"""A real server in a subprocess for the CLI tests (CliRunner is synchronous)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.client import Client
from tests.console.cli_harness import run
from tests.e2e.upmetr_server import ADMIN_EMAIL, ADMIN_PASSWORD, ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("cli-server") / "data"
    data_dir.mkdir()
    process = ServerProcess(data_dir)
    process.create_user(ADMIN_EMAIL, "Correct-Horse-42!", "--org", "Acme")
    process.start()
    yield process
    process.stop()


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
    """The server's admin, signed in with the Python client."""
    with Client(server.url) as client:
        client.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield client
