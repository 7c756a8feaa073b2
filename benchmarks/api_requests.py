"""Throughput and latency of the API's hot authenticated reads.

Starts `upmetr serve` in a child process on a fresh data directory (one server process,
as users run it), signs in, then sends requests from this process over keep-alive
connections and prints requests per second and latency percentiles per endpoint.

    python benchmarks/api_requests.py [--seconds 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

PASSWORD = "Bench-Passw0rd!"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "UPMETR_DATA_DIR": data_dir,
        "UPMETR_RATE_LIMIT_USER": "100000000/minute",
        "UPMETR_RATE_LIMIT_ANON": "100000000/minute",
        "UPMETR_DEFAULT_PLAN": "enterprise",
    }
    create = [sys.executable, "-m", "console.cli", "users", "create"]
    subprocess.run(
        [*create, "--email", "bench@example.com", "--password", PASSWORD],
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("server did not start")


async def hammer(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], seconds: float, workers: int
) -> list[float]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text}")

    await asyncio.gather(*(worker() for _ in range(workers)))
    return latencies


async def driver_round_trips(db_path: str, count: int = 1000) -> None:
    """Cost of one `SELECT 1` through aiosqlite (a thread hop per call) and through sqlite3.

    The gap between the two is what every statement of every request pays here.
    """
    import sqlite3

    import aiosqlite

    async with aiosqlite.connect(db_path) as db:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            cursor = await db.execute("SELECT 1")
            await cursor.fetchall()
            await cursor.close()
        aio_wall = (time.perf_counter() - wall) / count * 1e6
        aio_cpu = (time.process_time() - cpu) / count * 1e6
    connection = sqlite3.connect(db_path)
    wall = time.perf_counter()
    for _ in range(count):
        connection.execute("SELECT 1").fetchall()
    direct = (time.perf_counter() - wall) / count * 1e6
    connection.close()
    print(f"SELECT 1 via aiosqlite: {aio_wall:.0f} us wall, {aio_cpu:.0f} us CPU")
    print(f"SELECT 1 via sqlite3:   {direct:.1f} us")


async def main(seconds: float, workers: int) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(data_dir, port)
        try:
            base = f"http://127.0.0.1:{port}"
            limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
            async with httpx.AsyncClient(base_url=base, limits=limits) as client:
                login = await client.post(
                    "/api/v1/auth/login", json={"email": "bench@example.com", "password": PASSWORD}
                )
                token = login.json()["access_token"]
                key = await client.post(
                    "/api/v1/auth/api-keys",
                    json={"name": "bench"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                api_key = key.json()["key"]
                cases = [
                    ("GET /health (no auth, DB ping)", "/health", {}),
                    (
                        "GET /auth/me (access token)",
                        "/api/v1/auth/me",
                        {"Authorization": f"Bearer {token}"},
                    ),
                    (
                        "GET /auth/me (API key)",
                        "/api/v1/auth/me",
                        {"Authorization": f"Bearer {api_key}"},
                    ),
                    (
                        "GET /users (page of members)",
                        "/api/v1/users",
                        {"Authorization": f"Bearer {token}"},
                    ),
                ]
                print(f"{seconds:.0f} s per endpoint, {workers} connections, 1 server process")
                print(f"{'endpoint':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
                for label, path, headers in cases:
                    latencies = await hammer(client, path, headers, seconds, workers)
                    latencies.sort()
                    p50 = statistics.median(latencies) * 1000
                    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
                    print(f"{label:34} {len(latencies) / seconds:8.0f} {p50:8.1f} {p99:8.1f}")
        finally:
            server.terminate()
            server.wait(timeout=10)
        await driver_round_trips(os.path.join(data_dir, "upmetr.db"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.concurrency))
