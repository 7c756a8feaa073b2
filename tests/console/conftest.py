"""A real server in a subprocess for the CLI tests (CliRunner is synchronous)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.upmetr_server import ADMIN_EMAIL, ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("cli-server") / "data"
    data_dir.mkdir()
    process = ServerProcess(data_dir)
    process.create_user(ADMIN_EMAIL, "Correct-Horse-42!", "--org", "Acme")
    process.start()
    yield process
    process.stop()
