"""Several processes of one role sharing a database and Redis (issue 21's measure).

1. The API: `GET /api/v1/monitors?per_page=50` over 1,000 monitors (the peer benchmark's
   data), wrk with 50 connections, against `upmetr serve --role api --processes N` for N =
   1 and 2, rounds interleaved: req/s, p50, p99 and CPU per request of all the processes.
2. The workers: M http monitors at a 10 s interval against a local target (its own
   process), `upmetr serve --role worker --processes N` for N = 1 and 2: checks per second
   over the measured window, from the stored results, and CPU per 1,000 checks.

Each runs on SQLite (a file in a temporary directory) and on PostgreSQL 15 (the machine's
server binaries, started for the run as tests/postgres.py does, with
`synchronous_commit=off`: as durable as SQLite's WAL with synchronous=NORMAL). Redis is
Debian's redis-server on a free port. All share the machine's cores with wrk and the target.

    apt-get install -y wrk redis-server && pip install .
    python benchmarks/scale_out.py [--seconds 10] [--rounds 2] [--monitors 2000]
        [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api_vs_peer import (  # noqa: E402
    CASES,
    Server,
    cpu_seconds,
    run_wrk,
    seed,
    upmetr_env,
    upmetr_token,
)
from check_engine import running_target  # noqa: E402
from seeding import database_url, free_port, wait_for_port  # noqa: E402
from seeding import seed as seed_monitors  # noqa: E402
from sqlalchemy import text  # noqa: E402

from server.db.engine import create_engine  # noqa: E402
from tests import postgres  # noqa: E402
from tests.e2e.test_worker_process import children  # noqa: E402
from tests.redis_server import redis_server  # noqa: E402

UPMETR = shutil.which("upmetr", path=str(Path(sys.executable).parent)) or "upmetr"


class Database:
    """Where a measurement's data lives: the data directory's SQLite file, or a new database
    on the run's PostgreSQL server."""

    def __init__(self, server: postgres.PostgresServer | None = None):
        self.server = server
        self.label = "SQLite" if server is None else "PostgreSQL"

    def url(self, data_dir: Path) -> str:
        if self.server is None:
            return database_url(str(data_dir))
        return self.server.url(self.server.new_database())

    def env(self, data_dir: Path, url: str) -> dict[str, str]:
        return {**upmetr_env(data_dir), "UPMETR_DATABASE_URL": url}


def family_cpu(pid: int) -> float:
    return sum(cpu_seconds(each) for each in (pid, *children(pid)))


def start(
    role: str, processes: int, env: dict[str, str], port: int | None = None
) -> subprocess.Popen[bytes]:
    command = [UPMETR, "serve", "--role", role, "--processes", str(processes)]
    if port is not None:
        command += ["--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if port is not None:
        wait_for_port(port)
    return server


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def api_processes(database: Database, redis_url: str, seconds: float, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        url = database.url(data)
        seed(data, url=url)
        env = {**database.env(data, url), "UPMETR_REDIS_URL": redis_url}
        case = CASES[0]
        results: dict[int, list[tuple[float, float, float, float]]] = {1: [], 2: []}
        for _ in range(rounds):
            for processes in (1, 2):
                port = free_port()
                server = start("api", processes, env, port)
                try:
                    time.sleep(2)  # every process listening
                    token = upmetr_token(port)
                    cpu = family_cpu(server.pid)
                    figures = run_wrk(
                        Server(port, token, server.pid, data / "upmetr.db"),
                        case, seconds, 50, Path(tmp),
                    )  # fmt: skip
                    used = family_cpu(server.pid) - cpu
                    requests = figures.rps * seconds
                    results[processes].append(
                        (figures.rps, figures.p50_ms, figures.p99_ms, used * 1000 / requests)
                    )
                finally:
                    stop(server)
        for processes, runs in results.items():
            rps = statistics.median(run[0] for run in runs)
            p50 = statistics.median(run[1] for run in runs)
            p99 = statistics.median(run[2] for run in runs)
            cpu = statistics.median(run[3] for run in runs)
            print(
                f"API x{processes} ({database.label}, Redis): {case.label}: {rps:,.0f} req/s, "
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {cpu:.2f} ms CPU a request "
                f"(rounds: {', '.join(f'{run[0]:,.0f}' for run in runs)})",
                flush=True,
            )


def results_count(url: str) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return int(await connection.scalar(text("SELECT count(*) FROM check_result")))
        finally:
            await engine.dispose()

    return asyncio.run(count())


def workers(database: Database, redis_url: str, monitors: int, seconds: float) -> None:
    with running_target() as target_port:
        for processes in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                data = Path(tmp) / "data"
                data.mkdir()
                url = database.url(data)
                target = f"http://127.0.0.1:{target_port}/"
                seed_monitors(str(data), target, monitors, 10, False, url=url)
                env = {
                    **database.env(data, url),
                    "UPMETR_ENGINES": "true",
                    "UPMETR_REDIS_URL": redis_url,
                    "UPMETR_ALLOWED_TARGET_NETWORKS": "127.0.0.1/32",
                    "UPMETR_KEEP_CHECK_RESULTS": "100000",
                }
                server = start("worker", processes, env)
                try:
                    time.sleep(15)  # loaded, spread, past the first interval
                    count, cpu, began = (
                        results_count(url),
                        family_cpu(server.pid),
                        time.monotonic(),
                    )
                    time.sleep(seconds)
                    checks = results_count(url) - count
                    elapsed = time.monotonic() - began
                    used = family_cpu(server.pid) - cpu
                finally:
                    stop(server)
                print(
                    f"workers x{processes} ({database.label}, Redis), {monitors} monitors at "
                    f"10 s: {checks / elapsed:,.0f} checks/s (due: {monitors / 10:,.0f}/s), "
                    f"{used * 1000 / max(checks, 1) * 1000:,.0f} ms of worker CPU per 1,000 "
                    "checks",
                    flush=True,
                )


@contextlib.contextmanager
def databases(which: str) -> Iterator[list[Database]]:
    chosen = []
    with contextlib.ExitStack() as stack:
        if which in ("sqlite", "both"):
            chosen.append(Database())
        if which in ("postgresql", "both"):
            server = postgres.start_server(postgres.LIKE_SQLITE)
            stack.callback(server.stop)
            chosen.append(Database(server))
        yield chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--monitors", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        redis_server(Path(tmp)) as redis_url,
        databases(args.database) as chosen,
    ):
        for number, database in enumerate(chosen):
            # A Redis database of its own for each run: no stream or claim carries over.
            api_processes(database, redis_url.replace("/0", f"/{2 * number}"), args.seconds,
                          args.rounds)  # fmt: skip
            workers(database, redis_url.replace("/0", f"/{2 * number + 1}"), args.monitors, 30)


if __name__ == "__main__":
    main()
