"""Stand-ins the agent talks to: an ingest endpoint on 127.0.0.1 that answers what a test
tells it to, and a Docker Engine API on a unix socket (also used by
benchmarks/agent_footprint.py). Both are real aiohttp servers; only their answers are canned.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

INGEST_PATH = "/api/v1/agents/ingest"
GIB = 1024**3
MIB = 1024**2


@dataclass
class Answer:
    status: int = 202
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Post:
    at: float  # time.monotonic()
    authorization: str
    batch: dict[str, Any]


@dataclass
class Ingest:
    """POST /api/v1/agents/ingest: records each post, and answers the next queued Answer
    (then `default`)."""

    default: Answer = field(default_factory=Answer)
    queued: list[Answer] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        batch = await request.json()
        self.posts.append(Post(time.monotonic(), request.headers.get("Authorization", ""), batch))
        answer = self.queued.pop(0) if self.queued else self.default
        if answer.delay:
            await asyncio.sleep(answer.delay)
        body = answer.body
        if body is None and answer.status == 202:
            body = {"accepted": len(batch["samples"]), "duplicates": 0, "late": 0}
        return web.json_response(body or {}, status=answer.status, headers=answer.headers)

    def samples(self) -> list[dict[str, Any]]:
        return [sample for post in self.posts for sample in post.batch["samples"]]


@asynccontextmanager
async def running_ingest(
    ingest: Ingest, port: int = 0, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Ingest]:
    app = web.Application(client_max_size=8 * MIB)
    app.router.add_post(INGEST_PATH, ingest.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context)
    await site.start()
    bound = runner.addresses[0][1]
    ingest.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{bound}"
    try:
        yield ingest
    finally:
        await runner.cleanup()


def container_summary(number: int, name: str, state: str = "running") -> dict[str, Any]:
    """One item of GET /containers/json, as Engine API 1.45 writes it."""
    container_id = f"{number:02d}" + "c0ffee" * 10 + "ab"
    return {
        "Id": container_id,
        "Names": [f"/{name}"],
        "Image": f"registry.example.com/{name}:1.{number}",
        "ImageID": "sha256:" + "ab" * 32,
        "Command": "/entrypoint.sh",
        "Created": 1_733_000_000 + number,
        "Ports": [],
        "Labels": {"com.docker.compose.service": name},
        "State": state,
        "Status": "Up 3 hours" if state == "running" else "Exited (0) 2 hours ago",
        "HostConfig": {"NetworkMode": "bridge"},
        "NetworkSettings": {"Networks": {}},
        "Mounts": [],
    }


def cpu_block(total_usage: int, system_cpu_usage: int, online_cpus: int = 4) -> dict[str, Any]:
    return {
        "cpu_usage": {
            "total_usage": total_usage,
            "usage_in_kernelmode": total_usage // 4,
            "usage_in_usermode": total_usage - total_usage // 4,
        },
        "system_cpu_usage": system_cpu_usage,
        "online_cpus": online_cpus,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }


def stats_v2(
    container_id: str,
    name: str,
    *,
    cpu: tuple[int, int],
    precpu: tuple[int, int] | None,
    usage: int,
    inactive_file: int,
    limit: int,
    online_cpus: int = 4,
) -> dict[str, Any]:
    """GET /containers/{id}/stats?stream=false on a cgroup v2 host. `precpu=None` is what a
    one-shot answer holds: an empty precpu_stats."""
    return {
        "read": "2026-12-06T10:00:10.000000000Z",
        "preread": "2026-12-06T10:00:09.000000000Z" if precpu else "0001-01-01T00:00:00Z",
        "pids_stats": {"current": 7, "limit": 18_446_744_073_709_551_615},
        "blkio_stats": {"io_service_bytes_recursive": [], "io_serviced_recursive": None},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_block(*cpu, online_cpus=online_cpus),
        "precpu_stats": (
            cpu_block(*precpu, online_cpus=online_cpus)
            if precpu
            else {"cpu_usage": {"total_usage": 0}, "throttling_data": {}}
        ),
        "memory_stats": {
            "usage": usage,
            "stats": {
                "active_anon": usage // 3,
                "active_file": usage // 5,
                "anon": usage // 2,
                "file": inactive_file * 2,
                "inactive_anon": 0,
                "inactive_file": inactive_file,
                "kernel_stack": 65_536,
                "pgfault": 12_345,
                "shmem": 0,
                "slab": 262_144,
            },
            "limit": limit,
        },
        "name": f"/{name}",
        "id": container_id,
        "networks": {
            "eth0": {
                "rx_bytes": 123_456,
                "rx_packets": 321,
                "rx_errors": 0,
                "rx_dropped": 0,
                "tx_bytes": 65_432,
                "tx_packets": 123,
                "tx_errors": 0,
                "tx_dropped": 0,
            }
        },
    }


@dataclass
class EngineApi:
    """GET /containers/json and GET /containers/{id}/stats of a Docker Engine."""

    containers: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    delay: float = 0.0
    requests: list[str] = field(default_factory=list)
    # Each stats answer's counters move on, as a busy container's do.
    advance: bool = False

    async def list_containers(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        if self.delay:
            await asyncio.sleep(self.delay)
        everything = request.query.get("all") in ("1", "true")
        listed = [c for c in self.containers if everything or c["State"] == "running"]
        return web.json_response(listed)

    async def container_stats(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        stats = self.stats.get(request.match_info["id"])
        if stats is None:
            return web.json_response(
                {"message": f"No such container: {request.match_info['id']}"}, status=404
            )
        if self.advance:
            stats["cpu_stats"]["cpu_usage"]["total_usage"] += 150_000_000
            stats["cpu_stats"]["system_cpu_usage"] += 40_000_000_000
        # Docker writes it chunked, without a Content-Length.
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(json.dumps(stats).encode())
        await response.write_eof()
        return response


def engine_with(count: int, *, exited: int = 0) -> EngineApi:
    """`count` running containers with one-shot stats (as a current daemon answers) and
    `exited` stopped ones."""
    engine = EngineApi(advance=True)
    for number in range(count + exited):
        state = "running" if number < count else "exited"
        summary = container_summary(number, f"app-{number}", state)
        engine.containers.append(summary)
        if state == "running":
            engine.stats[summary["Id"]] = stats_v2(
                summary["Id"],
                f"app-{number}",
                cpu=(5_000_000_000 + number, 900_000_000_000),
                precpu=None,
                usage=(100 + number) * MIB,
                inactive_file=20 * MIB,
                limit=2 * GIB,
            )
    return engine


@asynccontextmanager
async def running_engine(engine: EngineApi, socket_path: str) -> AsyncIterator[EngineApi]:
    app = web.Application()
    app.router.add_get("/containers/json", engine.list_containers)
    app.router.add_get(r"/containers/{id}/stats", engine.container_stats)
    # The Engine API also answers under a version prefix.
    app.router.add_get(r"/v{version:[0-9.]+}/containers/json", engine.list_containers)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.UnixSite(runner, socket_path).start()
    try:
        yield engine
    finally:
        await runner.cleanup()


def self_signed(scratch: str) -> tuple[ssl.SSLContext, str]:
    """A server context for 127.0.0.1, and the certificate file (in `scratch`) a client
    trusts it by."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(scratch, "cert.pem")
    key_path = os.path.join(scratch, "key.pem")
    Path(cert_path).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    Path(key_path).write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path
