"""A server killed with SIGKILL in the middle of a burst of writes has kept every write it
acknowledged: an answer is sent only once its transaction has committed (WAL, synchronous
NORMAL: a commit survives the process, https://www.sqlite.org/pragma.html#pragma_synchronous).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.e2e.upmetr_server import ADMIN_EMAIL, ADMIN_PASSWORD, ServerProcess

BURST = 300
KILL_AFTER = 100  # acknowledged creates before the kill


@pytest.mark.sqlite_only(reason="SQLite's WAL with synchronous=NORMAL, read from the file")
async def test_every_acknowledged_write_survives_a_sigkill_mid_burst(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = ServerProcess(data_dir)
    server.env["UPMETR_ENGINES"] = "false"
    server.create_user(ADMIN_EMAIL, ADMIN_PASSWORD)
    server.start()
    acknowledged: list[int] = []
    try:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

            async def create(n: int) -> None:
                body = {"name": f"burst {n}", "type": "http", "url": "https://example.com/"}
                try:
                    answer = await client.post("/api/v1/monitors", json=body, headers=headers)
                except httpx.TransportError:
                    return  # cut off by the kill: not acknowledged
                if answer.status_code == 201:
                    acknowledged.append(answer.json()["id"])

            burst = [asyncio.create_task(create(n)) for n in range(BURST)]
            async with asyncio.timeout(60):
                while len(acknowledged) < KILL_AFTER:
                    await asyncio.sleep(0.005)
            server.kill()  # SIGKILL: no shutdown, no checkpoint
            await asyncio.gather(*burst)
    finally:
        server.kill()
    assert KILL_AFTER <= len(acknowledged) < BURST, "the kill came after the burst"

    server.start()  # the server opens the database a crash left behind
    try:
        with sqlite3.connect(data_dir / "upmetr.db") as connection:
            stored = {row[0] for row in connection.execute("SELECT id FROM monitor")}
    finally:
        assert server.stop() == 0
    assert set(acknowledged) <= stored
