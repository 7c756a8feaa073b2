"""`upmetr serve` tells a webhook of an incident: the API process commits the outbox, the
worker process's dispatcher sends it, and a worker killed and started again sends what
was queued meanwhile."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_worker_process import Api, children, start, wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Record)
        self.received: list[tuple[str, dict[str, Any]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def incident_ids(self) -> list[int]:
        return [
            body["data"]["incident"]["id"]
            for _, body in self.received
            if body["type"] == "incident.opened"
        ]


class _Record(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.headers["webhook-id"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_the_worker_sends_incidents_to_a_webhook_and_a_restarted_one_sends_the_rest(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = start(tmp_path)
    try:
        assert server.process is not None
        (worker,) = wait_for(lambda: children(server.process.pid), "the worker process")
        api = Api(server)
        channel = api.post(
            "/notifications/channels",
            {"name": "hook", "type": "webhook", "config": {"url": receiver.url, "secret": SECRET}},
        )
        assert channel.status_code == 201, channel.text
        tested = api.post(f"/notifications/channels/{channel.json()['id']}/test")
        assert tested.json()["ok"] is True, tested.text  # sent by the API process itself
        rule = api.post(
            "/notifications/rules",
            {"name": "all", "events": ["incident.opened"], "channel_ids": [channel.json()["id"]]},
        )
        assert rule.status_code == 201, rule.text

        first = api.post("/incidents", {"title": "API down", "severity": "critical"}).json()
        wait_for(lambda: first["id"] in receiver.incident_ids(), "the first webhook")

        os.kill(worker, signal.SIGKILL)  # queued while no worker runs: sent by the next one
        second = api.post("/incidents", {"title": "DB down", "severity": "critical"}).json()
        wait_for(
            lambda: [pid for pid in children(server.process.pid) if pid != worker],
            "a new worker process",
        )
        wait_for(lambda: second["id"] in receiver.incident_ids(), "the second webhook")
        assert sorted(set(receiver.incident_ids())) == [first["id"], second["id"]]
        assert server.stop(timeout=40) == 0
    finally:
        server.kill()
