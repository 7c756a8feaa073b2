"""Several server processes sharing one database and Redis, as installed commands: two
workers and two API processes (`upmetr serve --role worker|api`, UPMETR_REDIS_URL). What the
worker's checks raise streams from both API processes under the same ids, a client resumes
on either, and the rate limit counts a caller's requests to both together."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.e2e.test_worker_process import (
    WAIT,
    Api,
    alive,
    children,
    target,  # noqa: F401 - a fixture
    wait_for,
)
from tests.e2e.upmetr_server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OUTSIDE_CHECKOUT,
    UPMETR,
    ServerProcess,
)
from tests.redis_server import redis_url  # noqa: F401 - a fixture


def test_a_worker_and_two_api_processes_share_events_and_limits_through_redis(
    tmp_path: Path,
    redis_url: str,  # noqa: F811
    target: str,  # noqa: F811
) -> None:
    data = tmp_path / "data"
    first, second = (ServerProcess(data, None, "--role", "api") for _ in range(2))
    shared = {
        "UPMETR_REDIS_URL": redis_url.replace("/0", "/3"),
        "UPMETR_RATE_LIMIT_USER": "40/minute",
    }
    for each in (first, second):
        each.env.update(shared)
    first.create_user(ADMIN_EMAIL, ADMIN_PASSWORD)
    worker_log = tmp_path / "worker.log"
    worker = subprocess.Popen(  # noqa: S603 - our own command
        [UPMETR, "serve", "--role", "worker", "--processes", "2"],
        env=first.env,
        cwd=OUTSIDE_CHECKOUT,
        stdout=worker_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        first.start()
        second.start()
        here, there = Api(first), Api(second)
        monitor = here.monitor(target, "Site")
        checked = here.events(0, "monitor.check")
        mine = [e for e in checked if e["type"] == "monitor.check"]
        assert mine[0]["data"]["monitor_id"] == monitor, worker_log.read_text()
        # The same event under the same id from the other process, resumed from an id the
        # first one gave.
        resumed = there.events(mine[0]["id"] - 1, "monitor.check")
        assert resumed[0] == mine[0]
        # One caller's requests count together, whichever process answers.
        statuses = []
        for api in (here, there) * 25:
            answer = httpx.get(f"{api.base}/auth/me", headers=api.headers, timeout=WAIT)
            statuses.append(answer.status_code)
        assert statuses.count(429) > 0, statuses
        assert worker.poll() is None, worker_log.read_text()
        assert len(children(worker.pid)) == 1  # the second worker, which it supervises
    finally:
        first.kill()
        second.kill()
        worker.kill()
        worker.wait(timeout=30)


def test_serve_with_two_processes_shares_its_port_and_restarts_a_killed_one(
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    server = ServerProcess(tmp_path / "data", None, "--role", "all", "--processes", "2")
    server.env["UPMETR_REDIS_URL"] = redis_url.replace("/0", "/4")
    server.create_user(ADMIN_EMAIL, ADMIN_PASSWORD)
    server.start()
    try:
        assert server.process is not None
        started = wait_for(lambda: len(children(server.process.pid)) == 2, "two children")
        assert started
        api_child = wait_for(lambda: _api_children(server.process.pid), "the API process")[0]
        api = Api(server)
        answers = {httpx.get(f"{api.base}/auth/me", headers=api.headers).status_code
                   for _ in range(20)}  # fmt: skip
        assert answers == {200}
        os.kill(api_child, signal.SIGKILL)
        replaced = wait_for(
            lambda: [p for p in _api_children(server.process.pid) if p != api_child],
            "another API process",
        )
        assert replaced and "API process" in server.log() and "starting another" in server.log()
        assert httpx.get(f"{api.base}/auth/me", headers=api.headers).status_code == 200
        assert server.stop(timeout=40) == 0
        wait_for(lambda: not alive(replaced[0]), "the API process to stop with the server")
    finally:
        server.kill()


def _api_children(pid: int) -> list[int]:
    return [child for child in children(pid) if b"server.api_process" in _command_line(child)]


def _command_line(pid: int) -> bytes:
    """What `pid` was started with; nothing once it has gone (the killed child may be reaped
    between listing the children and reading this)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_more_than_one_process_needs_redis(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    done = subprocess.run(  # noqa: S603 - our own command
        [UPMETR, "serve", "--processes", "2"],
        env=server.env, cwd=OUTSIDE_CHECKOUT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "UPMETR_REDIS_URL" in done.stderr
