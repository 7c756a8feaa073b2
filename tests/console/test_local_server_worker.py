"""`upmetr up`'s server with its engines in a worker process: started and stopped with it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from console.local_server import LocalServer, ensure_local_admin, sign_in_local
from server.config import Settings
from shared.client import Client
from tests.conftest import FAST_ARGON2


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_role_all_runs_the_engines_in_a_worker_that_stops_with_the_server(
    tmp_path: Path,
) -> None:
    # The monitor checks the server itself, on loopback: allowed, as `upmetr up` allows it.
    settings = Settings(
        data_dir=tmp_path / "data", port=0, allow_private_targets=True, **FAST_ARGON2
    )  # type: ignore[arg-type]
    server = LocalServer(settings, role="all")
    server.start()
    try:
        worker = server.worker_pid
        assert worker is not None and worker != os.getpid() and running(worker)
        password = ensure_local_admin(settings)
        assert password is not None
        credentials = sign_in_local(server.url, "admin@upmetr.internal", password)
        with Client(server.url, access_token=credentials.access_token) as api:
            created = api.monitors.create(name="self", type="http", url=f"{server.url}/health")
            deadline = time.monotonic() + 30
            while api.monitors.get(created.id).status == "pending":  # checked by the worker
                assert time.monotonic() < deadline, "the worker never checked the new monitor"
                time.sleep(0.2)
        assert "worker running" in server.worker_log_path.read_text()
    finally:
        server.stop()
    assert not running(worker)
