"""Upmetr against the FastAPI peer, side by side in one run (issue 15, item 2).

Seeds one database (an Enterprise organization, its superadmin, 1,000 http monitors and
open manual incidents), copies it for the peer (benchmarks/peer_fastapi.py: FastAPI +
uvicorn[standard] + SQLAlchemy async + aiosqlite in one process), starts both servers
(the installed `upmetr serve` with engines off; uvicorn) and loads them with wrk, 50
connections, rounds interleaved (upmetr, peer, upmetr, peer, ...), so that both see the same
machine. Prints req/s, p50 and p99 of each round, the medians and the ratios.

    apt-get install -y wrk && pip install .[bench]
    python benchmarks/api_vs_peer.py [--seconds 10] [--rounds 3] [--connections 50]

Endpoints: GET /api/v1/monitors?per_page=50, GET /api/v1/auth/me and
POST /api/v1/incidents/{id}/acknowledge (each request acknowledges a different open
incident; they are reopened between rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
from seeding import (
    EMAIL,
    PASSWORD,
    ROOT,
    checkpoint,
    database_url,
    free_port,
    seed_org,
    wait_for_port,
)

MONITORS = 1000
INCIDENTS = 60_000  # open manual incidents: one per acknowledge request of every round
PEER_SECRET = "peer-benchmark-secret-of-32-bytes-or-more"


def seed(data_dir: Path, *, url: str | None = None) -> None:
    """Migrate, then write the organization, monitors and incidents straight into the data
    directory's SQLite file, or the database at `url`."""
    from server.db.migrate import upgrade

    url = url or database_url(str(data_dir))
    upgrade(url)
    asyncio.run(_seed(url))
    checkpoint(url)


async def _seed(url: str) -> None:
    from sqlalchemy import insert

    from server.db.base import Base
    from server.db.engine import create_engine, create_sessionmaker

    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    org_id = await seed_org(sessions)
    now = datetime.now(UTC)
    monitor, incident = Base.metadata.tables["monitor"], Base.metadata.tables["incident"]
    async with sessions() as db, db.begin():
        await db.execute(
            insert(monitor),
            [
                {
                    "org_id": org_id,
                    "name": f"monitor {index:04d}",
                    "type": "http",
                    "url": f"https://example.com/{index}",
                    "interval_seconds": 60,
                    "timeout_seconds": 10,
                    "tags": ["bench", f"group-{index % 10}"],
                    "status": "up" if index % 13 else "down",
                    "last_checked_at": now,
                    "last_response_ms": 20 + index % 50,
                }
                for index in range(MONITORS)
            ],
        )
        await db.execute(
            insert(incident),
            [
                {
                    "org_id": org_id,
                    "title": f"incident {index}",
                    "severity": "warning",
                    "status": "open",
                    "trigger_type": "manual",
                    "opened_at": now - timedelta(minutes=index % 600),
                }
                for index in range(INCIDENTS)
            ],
        )
    await engine.dispose()


def reopen_incidents(db_path: Path) -> None:
    """Every incident open again and the timeline rows of the last round gone."""
    with sqlite3.connect(db_path, timeout=30) as connection:
        connection.execute(
            "UPDATE incident SET status = 'open', acknowledged_at = NULL, "
            "acknowledged_by_id = NULL WHERE status != 'open'"
        )
        connection.execute("DELETE FROM incident_event")


def upmetr_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "UPMETR_DATA_DIR": str(data_dir),
        "UPMETR_ENGINES": "false",
        "UPMETR_RATE_LIMIT_USER": "100000000/minute",
        "UPMETR_RATE_LIMIT_ANON": "100000000/minute",
        "UPMETR_DEFAULT_PLAN": "enterprise",
    }


def start_upmetr(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    upmetr = shutil.which("upmetr", path=str(Path(sys.executable).parent)) or "upmetr"
    server = subprocess.Popen(
        [upmetr, "serve", "--port", str(port)],
        env=upmetr_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return server


def start_peer(db_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PEER_DB": str(db_path), "PEER_SECRET": PEER_SECRET}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.peer_fastapi:app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return server


def upmetr_token(port: int) -> str:
    login = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        json={"email": EMAIL, "password": PASSWORD},
        timeout=30,
    )
    login.raise_for_status()
    return str(login.json()["access_token"])


def peer_token(db_path: Path) -> str:
    with sqlite3.connect(db_path) as connection:
        user_id, org_id = connection.execute(
            "SELECT user_id, org_id FROM membership ORDER BY id LIMIT 1"
        ).fetchone()
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "org": org_id, "iat": now, "exp": now + timedelta(hours=2)}
    return jwt.encode(claims, PEER_SECRET, algorithm="HS256")


@dataclass(frozen=True)
class Server:
    port: int
    token: str
    pid: int
    db: Path


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    path: str  # for acknowledge, the id is appended per request


CASES = [
    Case("GET /monitors?per_page=50", "GET", "/api/v1/monitors?per_page=50"),
    Case("GET /auth/me", "GET", "/api/v1/auth/me"),
    Case("POST /incidents/{id}/acknowledge", "POST", "/api/v1/incidents/"),
]

# Each wrk thread walks its own ids (thread n of N: first+n, first+n+N, ...), so that every
# request acknowledges an incident still open.
ACK_SCRIPT = """
local n = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
end
function init(args)
  counter = 0
end
function request()
  local id = %(first)d + counter * %(threads)d + (tid - 1)
  counter = counter + 1
  return wrk.format("POST", "/api/v1/incidents/" .. id .. "/acknowledge",
    {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}, "{}")
end
"""


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # the server's CPU time per request: steadier than req/s on a shared machine


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    """wrk's "812.34us", "1.20s", ...; NaN for what it prints when no request was timed."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else math.nan


def run_wrk(
    server: Server, case: Case, seconds: float, connections: int, script_dir: Path
) -> Figures:
    port, token = server.port, server.token
    threads = 2
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    if case.method == "POST":
        script = script_dir / "ack.lua"
        script.write_text(ACK_SCRIPT % {"first": 1, "threads": threads, "token": token})
        command += ["-s", str(script)]
    else:
        command += ["-H", f"Authorization: Bearer {token}"]
    cpu_before = cpu_seconds(server.pid)
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{case.path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = cpu_seconds(server.pid) - cpu_before
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    failed = re.search(r"Socket errors:.*timeout (\d+)", output)
    errors_seen = int(errors.group(1) if errors else 0) + int(failed.group(1) if failed else 0)
    return Figures(rps, p50, p99, errors_seen, cpu * 1000 / max(requests, 1))


def check_answers(server: Server, case: Case) -> None:
    """One request first, so a round never measures error answers."""
    if case.method == "GET":
        answer = httpx.get(
            f"http://127.0.0.1:{server.port}{case.path}",
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=30,
        )
        if answer.status_code != 200:
            raise SystemExit(f"{case.label}: {answer.status_code} {answer.text}")


def median(figures: list[Figures]) -> Figures:
    return Figures(
        statistics.median(f.rps for f in figures),
        statistics.median(f.p50_ms for f in figures),
        statistics.median(f.p99_ms for f in figures),
        sum(f.errors for f in figures),
        statistics.median(f.cpu_ms for f in figures),
    )


def main(seconds: float, rounds: int, connections: int, cases: list[Case]) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "upmetr"
        data_dir.mkdir()
        started = time.perf_counter()
        seed(data_dir)
        peer_db = Path(tmp) / "peer.db"
        shutil.copy(data_dir / "upmetr.db", peer_db)
        print(
            f"seeded {MONITORS} monitors, {INCIDENTS} incidents "
            f"in {time.perf_counter() - started:.0f} s"
        )
        upmetr_port, peer_port = free_port(), free_port()
        upmetr, peer = start_upmetr(data_dir, upmetr_port), start_peer(peer_db, peer_port)
        try:
            targets = {
                "upmetr": Server(
                    upmetr_port, upmetr_token(upmetr_port), upmetr.pid, data_dir / "upmetr.db"
                ),
                "peer": Server(peer_port, peer_token(peer_db), peer.pid, peer_db),
            }
            print(
                f"wrk, {connections} connections, {seconds:.0f} s rounds, {rounds} rounds "
                "interleaved; one server process each; cpu ms = server CPU per request"
            )
            print(
                f"{'endpoint':36} {'server':7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                f"{'cpu ms':>7} {'non-2xx':>8}"
            )
            summary: list[tuple[Case, Figures, Figures]] = []
            for case in cases:
                results: dict[str, list[Figures]] = {"upmetr": [], "peer": []}
                for server in targets.values():
                    check_answers(server, case)
                for _ in range(rounds):
                    for name, server in targets.items():
                        if case.method == "POST":
                            reopen_incidents(server.db)
                        figures = run_wrk(server, case, seconds, connections, Path(tmp))
                        results[name].append(figures)
                        print(
                            f"{case.label:36} {name:7} {figures.rps:8.0f} {figures.p50_ms:8.1f} "
                            f"{figures.p99_ms:8.1f} {figures.cpu_ms:7.2f} {figures.errors:8d}",
                            flush=True,
                        )
                summary.append((case, median(results["upmetr"]), median(results["peer"])))
            print("\nmedians of the rounds; x = upmetr / peer (goal: req/s >= 3x, p99 <= 1/3)")
            print(
                f"{'endpoint':36} {'upmetr req/s':>12} {'p99 ms':>8} {'peer req/s':>10} "
                f"{'p99 ms':>8} {'req/s x':>8} {'p99 x':>7} {'cpu/req x':>9}"
            )
            for case, ours, theirs in summary:
                print(
                    f"{case.label:36} {ours.rps:12.0f} {ours.p99_ms:8.1f} {theirs.rps:10.0f} "
                    f"{theirs.p99_ms:8.1f} {ours.rps / theirs.rps:8.2f} "
                    f"{ours.p99_ms / theirs.p99_ms:7.2f} {ours.cpu_ms / theirs.cpu_ms:9.2f}"
                )
        finally:
            for process in (upmetr, peer):
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--only", choices=["list", "me", "acknowledge"], action="append", help="some cases only"
    )
    arguments = parser.parse_args()
    names = dict(zip(["list", "me", "acknowledge"], CASES, strict=True))
    chosen = [names[name] for name in arguments.only] if arguments.only else CASES
    main(arguments.seconds, arguments.rounds, arguments.connections, chosen)
