"""A Standard Webhooks receiver on 127.0.0.1, in a process of its own, that records what
it gets (benchmarks/notifications.py): each request's `webhook-id`, when it arrived
(CLOCK_MONOTONIC, which every process of the machine shares), the incident id in the body,
its answer (204, or 503 for a given share of requests) and whether its signature is right.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import multiprocessing
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from aiohttp import web
from seeding import free_port

SECRET = "whsec_" + base64.b64encode(b"upmetr-notifications-benchmark!!").decode()


def serve_receiver(port: int, fail_rate: float) -> None:
    """POST /hook records (webhook-id, arrived, incident id, status, signature ok) and answers
    204, or 503 for `fail_rate` of requests; GET /records?since=N returns rows N onwards."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    records: list[tuple[str, float, int | None, int, bool]] = []

    async def hook(request: web.Request) -> web.Response:
        arrived = time.monotonic()
        body = await request.read()
        message_id = request.headers.get("webhook-id", "")
        signed = f"{message_id}.{request.headers.get('webhook-timestamp', '')}.".encode() + body
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(digest).decode()
        signature_ok = expected in request.headers.get("webhook-signature", "").split()
        incident = json.loads(body).get("data", {}).get("incident", {}).get("id")
        status = 503 if random.random() < fail_rate else 204
        records.append((message_id, arrived, incident, status, signature_ok))
        return web.Response(status=status)

    async def dump(request: web.Request) -> web.Response:
        return web.json_response(records[int(request.query.get("since", "0")) :])

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/records", dump)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@dataclass
class Arrival:
    webhook_id: str
    at: float
    incident_id: int | None
    status: int
    signature_ok: bool


class Receiver:
    """The driver's view of the receiver: its rows, fetched as they come."""

    def __init__(self, port: int, pid: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.pid = pid
        self.arrivals: list[Arrival] = []
        self.delivered_at: dict[int, float] = {}  # incident id -> first 204

    async def refresh(self, client: httpx.AsyncClient) -> None:
        reply = await client.get(f"{self.url}/records", params={"since": len(self.arrivals)})
        for row in reply.json():
            arrival = Arrival(*row)
            self.arrivals.append(arrival)
            if arrival.status == 204 and arrival.incident_id is not None:
                self.delivered_at.setdefault(arrival.incident_id, arrival.at)


@contextlib.contextmanager
def running_receiver(fail_rate: float) -> Iterator[tuple[int, int]]:
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_receiver, args=(port, fail_rate), daemon=True
    )
    process.start()
    try:
        wait_for(port)
        assert process.pid is not None
        yield port, process.pid
    finally:
        process.terminate()
        process.join(timeout=10)


def wait_for(port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return
        time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")
