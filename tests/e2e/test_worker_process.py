"""`upmetr serve` with the engines in a worker process: events, wake-ups, jobs, stopping,
and a worker restarted after a crash, each against the installed command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.e2e.upmetr_server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OUTSIDE_CHECKOUT,
    UPMETR,
    ServerProcess,
)

WAIT = 30.0  # generous bounds for a loaded machine; none of these is a timing assertion


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def children(pid: int) -> list[int]:
    """The processes `pid` started, read from /proc (a zombie is no longer running)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:  # it ended between the two looks
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def wait_for(condition, what: str, timeout: float = WAIT):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Api:
    def __init__(self, server: ServerProcess) -> None:
        self.base = f"{server.url}/api/v1"
        login = httpx.post(
            f"{self.base}/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        self.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def post(self, path: str, body: object = None) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", json=body, headers=self.headers, timeout=30)

    def monitor(self, url: str, name: str) -> int:
        made = self.post("/monitors", {"name": name, "type": "http", "url": url})
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    def events(
        self, last_event_id: int | None, until: str, count: int = 1, found: list | None = None
    ) -> list[dict]:
        """SSE events (id, type, data), appended to `found` as they come, until `count` of
        type `until` have come; an AssertionError after WAIT seconds without them (the
        stream's heartbeats keep a read timeout from ever firing)."""
        deadline = time.monotonic() + WAIT
        headers = dict(self.headers)
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        found = [] if found is None else found
        event: dict = {}
        timeout = httpx.Timeout(WAIT, read=WAIT)
        with httpx.stream("GET", f"{self.base}/events", headers=headers, timeout=timeout) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {count} {until} in {WAIT} s: {found}")
                if line.startswith("id:"):
                    event["id"] = int(line[3:].strip())
                elif line.startswith("event:"):
                    event["type"] = line[6:].strip()
                elif line.startswith("data:"):
                    event["data"] = json.loads(line[5:].strip())
                elif not line and "type" in event:
                    found.append(event)
                    if sum(1 for each in found if each["type"] == until) >= count:
                        return found
                    event = {}
                elif not line:
                    event = {}
        return found


def start(tmp_path: Path, *args: str) -> ServerProcess:
    server = ServerProcess(tmp_path / "data", None, *args)
    server.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, "--platform-admin")
    server.start()
    return server


def test_serve_runs_the_engines_in_a_worker_whose_events_reach_the_api_streams(
    tmp_path: Path, target: str
) -> None:
    server = start(tmp_path)
    try:
        assert server.process is not None
        (worker,) = wait_for(lambda: children(server.process.pid), "the worker process")
        api = Api(server)
        # A stream opened before the monitor: monitor.created comes from the API process,
        # monitor.check from the worker, which was woken to check the new monitor.
        seen: list[dict] = []
        reader = threading.Thread(target=lambda: api.events(None, "monitor.check", found=seen))
        reader.start()
        time.sleep(1.0)  # the stream is subscribed
        monitor_id = api.monitor(target, "target")
        reader.join(WAIT)
        types = [event["type"] for event in seen]
        assert "monitor.created" in types and "monitor.check" in types, types
        ids = [event["id"] for event in seen]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)  # one sequence
        created = next(event for event in seen if event["type"] == "monitor.created")
        checked = next(event for event in seen if event["type"] == "monitor.check")
        assert checked["data"]["monitor_id"] == monitor_id

        # Resuming after monitor.created replays the worker's check, same id, same data.
        replay = api.events(created["id"], "monitor.check")
        assert replay[0]["type"] != "stream.reset"
        assert next(event for event in replay if event["type"] == "monitor.check") == checked

        # Check-now answers from the API process with the stored result.
        now = api.post(f"/monitors/{monitor_id}/check-now")
        assert now.status_code == 200 and now.json()["status"] == "up", now.text

        # A killed worker is started again, logged, and checks go on.
        os.kill(worker, signal.SIGKILL)
        (second,) = wait_for(
            lambda: [pid for pid in children(server.process.pid) if pid != worker],
            "a new worker process",
        )
        assert "worker process" in server.log() and "starting another" in server.log()
        other = api.monitor(target, "second")
        later = api.events(created["id"], "monitor.check", count=2)
        checked_ids = {
            event["data"]["monitor_id"] for event in later if event["type"] == "monitor.check"
        }
        assert other in checked_ids or monitor_id in checked_ids

        # SIGTERM stops both.
        assert server.stop(timeout=40) == 0
        wait_for(lambda: not alive(second), "the worker to stop")
    finally:
        server.kill()


def test_roles_api_and_worker_run_as_processes_of_their_own(tmp_path: Path, target: str) -> None:
    worker_log = tmp_path / "worker.log"
    worker = subprocess.Popen(  # noqa: S603 - our own command
        [UPMETR, "serve", "--role", "worker"],
        env={**ServerProcess(tmp_path / "data").env},
        stdout=worker_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = start(tmp_path, "--role", "api")
    try:
        assert server.process is not None
        assert children(server.process.pid) == []  # no worker of its own
        api = Api(server)
        monitor_id = api.monitor(target, "target")
        assert worker.poll() is None, worker_log.read_text()
        seen = api.events(0, "monitor.check")
        assert any(
            event["type"] == "monitor.check" and event["data"]["monitor_id"] == monitor_id
            for event in seen
        )
        assert server.stop(timeout=40) == 0
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=40) == 0
    finally:
        server.kill()
        if worker.poll() is None:
            worker.kill()


def test_a_worker_whose_api_process_died_while_it_started_stops_by_itself(tmp_path: Path) -> None:
    """The API process killed (SIGKILL) before its worker was up: the worker, adopted by
    another process by then, still knows its parent has gone and stops."""
    server = ServerProcess(tmp_path / "data")
    server.create_user(ADMIN_EMAIL, ADMIN_PASSWORD)  # migrates, as the API does before
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    worker_log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "server.worker"],
        env={**server.env, "UPMETR_WORKER_PARENT": str(gone.pid)},
        cwd=OUTSIDE_CHECKOUT,
        stdout=worker_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        assert worker.wait(timeout=WAIT) == 0, worker_log.read_text()
        assert f"the API process {gone.pid} has gone: stopping" in worker_log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
