"""The check engine at scale: N http monitors against a local target, figures printed.

A child process migrates a fresh data directory and seeds one Enterprise organization, a
user, N http monitors and 30 days of hour and day rollups per monitor. Another child
serves the target (200 at once), so its CPU is not counted. Then, for --duration seconds:

- `--role split` (the default, as `upmetr serve` runs): the worker role (build_worker)
  runs in this process, and the API (`upmetr serve --role api`) in a process of its own;
- `--role single`: API and engines in this one process (build_app), as before.

The first interval is warm-up and the figures are taken over the rest: checks per second,
schedule drift, the worker's CPU per 1,000 checks (this process's /proc/self/stat), the
API process's CPU, peak RSS, database growth, and the p50/p99 of two API reads (the
monitor list, a monitor's 30-day metrics) made while checks run.

    python benchmarks/check_engine.py [--monitors 10000] [--interval 60] [--duration 180]
    python benchmarks/check_engine.py --monitors 500 --interval 10 --duration 40
    python benchmarks/check_engine.py --role single

Monitors are stored with next_check_at NULL, or a day ago with --overdue; either way the
engine's load() spreads them over the first interval.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from aiohttp import web  # noqa: E402
from seeding import ARGON2, EMAIL, PASSWORD, free_port, seed, wait_for_port  # noqa: E402

API_SAMPLES = 50
SAMPLE_SECONDS = 0.1
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    """User and system CPU of a process so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def start_api(settings: Any, port: int) -> subprocess.Popen[bytes]:
    """`upmetr serve --role api` on the benchmark's data directory and settings."""
    env = {
        **os.environ,
        "UPMETR_DATA_DIR": str(settings.data_dir),
        "UPMETR_DEFAULT_PLAN": "enterprise",
        "UPMETR_RATE_LIMIT_USER": settings.rate_limit_user,
        "UPMETR_RATE_LIMIT_ANON": settings.rate_limit_anon,
        **{f"UPMETR_{name.upper()}": str(value) for name, value in ARGON2.items()},
    }
    command = [str(Path(sys.executable).with_name("upmetr")), "serve", "--role", "api"]
    return subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# The target, in a process of its own


def serve_target(port: int) -> None:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@contextlib.contextmanager
def running_target() -> Iterator[int]:
    """`serve_target` in a process of its own (spawned: no state of this one shared),
    running until the block ends; yields its port once it listens."""
    port = free_port()
    target = multiprocessing.get_context("spawn").Process(
        target=serve_target, args=(port,), daemon=True
    )
    target.start()
    try:
        wait_for_port(port)
        yield port
    finally:
        target.terminate()
        target.join(timeout=10)


# Database size


def database_bytes(data_dir: Path) -> int:
    return sum(
        (data_dir / name).stat().st_size
        for name in ("upmetr.db", "upmetr.db-wal")
        if (data_dir / name).exists()
    )


@dataclass
class TableSizes:
    rows: dict[str, int]
    bytes: dict[str, int]  # pages of the table and its indexes (dbstat)


def table_sizes(data_dir: Path) -> TableSizes | None:
    """Rows and bytes (pages of the table and its indexes) of check_result and monitor_rollup,
    after a checkpoint; None when SQLite lacks the dbstat table."""
    connection = sqlite3.connect(data_dir / "upmetr.db")
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = ("check_result", "monitor_rollup")
        rows = {
            name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in tables
        }
        try:
            found = connection.execute(
                "SELECT m.tbl_name, sum(d.pgsize) FROM dbstat AS d"
                " JOIN sqlite_master AS m ON m.name = d.name GROUP BY m.tbl_name"
            ).fetchall()
        except sqlite3.OperationalError:
            return None
        sizes = {name: int(size) for name, size in found}
        return TableSizes(rows, {name: sizes.get(name, 0) for name in tables})
    finally:
        connection.close()


def status_counts(data_dir: Path) -> dict[str, int]:
    connection = sqlite3.connect(data_dir / "upmetr.db")
    try:
        from server.monitors.models import RESULT_STATUSES  # stored as their codes

        found = connection.execute("SELECT status, count(*) FROM check_result GROUP BY status")
        return {RESULT_STATUSES[code]: count for code, count in found}
    finally:
        connection.close()


# API latency, measured from a child process while the engine runs


def measure_api(base: str, monitor_id: int, samples: int) -> dict[str, list[float]]:
    with httpx.Client(base_url=base, timeout=30) as client:
        # Signing in writes; it may meet the result writer's lock (500), so it is retried.
        for _ in range(10):
            login = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
            if login.status_code == 200:
                break
        else:
            raise RuntimeError(f"sign-in failed 10 times: {login.status_code} {login.text}")
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        paths = {
            "GET /monitors?per_page=50": "/api/v1/monitors?per_page=50",
            "GET /monitors/{id}/metrics?range=30d": (
                f"/api/v1/monitors/{monitor_id}/metrics?range=30d"
            ),
        }
        latencies: dict[str, list[float]] = {}
        for label, path in paths.items():
            client.get(path, headers=headers)  # one to warm caches
            found = latencies[label] = []
            for _ in range(samples):
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                found.append(time.perf_counter() - started)
                if response.status_code != 200:  # a plain error: it crosses the process boundary
                    raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
        metrics = client.get(paths["GET /monitors/{id}/metrics?range=30d"], headers=headers)
        latencies["points in 30d metrics"] = [float(len(metrics.json()["points"]))]
        return latencies


# The run


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Snapshot:
    at: float
    cpu: float
    api_cpu: float
    started: int
    finished: int
    written: int
    db_bytes: int


class ErrorCount(logging.Handler):
    """Counts the errors the server logs, by message."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = f"{record.name}: {record.getMessage()}"[:120]
        self.found[message] = self.found.get(message, 0) + 1


class Sampler:
    """Event-loop lag (how late a short sleep wakes) and the writer's backlog, sampled."""

    def __init__(self, pending: Any) -> None:
        self._pending = pending
        self.lag: list[float] = []
        self.max_pending = 0

    def reset(self) -> None:
        self.lag = []
        self.max_pending = 0

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(SAMPLE_SECONDS)
            self.lag.append(time.perf_counter() - started - SAMPLE_SECONDS)
            self.max_pending = max(self.max_pending, self._pending())


async def run(arguments: argparse.Namespace, data_dir: Path, pool: ProcessPoolExecutor) -> None:
    from server.app import build_app, build_worker
    from server.config import Settings
    from server.context import CHECK_ENGINE

    monitors, interval, duration = arguments.monitors, arguments.interval, arguments.duration
    warmup = float(interval)
    if duration <= warmup:
        raise SystemExit("--duration must be longer than --interval (the warm-up)")

    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    with running_target() as target_port:
        target_url = f"http://127.0.0.1:{target_port}/"

        began = time.perf_counter()
        loop = asyncio.get_running_loop()
        first_id = await loop.run_in_executor(
            pool, seed, str(data_dir), target_url, monitors, interval, arguments.overdue
        )
        seeded_in = time.perf_counter() - began
        before = table_sizes(data_dir)
        bytes_before = database_bytes(data_dir)

        settings = Settings(
            data_dir=data_dir,
            engines=True,
            default_plan="enterprise",
            rate_limit_user="100000000/minute",
            rate_limit_anon="100000000/minute",
            # The target is on loopback: allowed by the narrowest allow-list (outbound policy).
            allowed_target_networks=["127.0.0.1/32"],
            **ARGON2,  # type: ignore[arg-type]
        )
        split = arguments.role == "split"
        shape = "worker here, API (serve --role api) in its own process" if split else "one"
        print(f"processes: {arguments.role} ({shape})")
        print(f"monitors: {monitors} http, interval {interval} s, timeout 10 s")
        print(f"target: {target_url} (own process, 200 'ok')")
        print(
            f"duration: {duration:.0f} s, warm-up {warmup:.0f} s, "
            f"measured {duration - warmup:.0f} s"
        )
        stored = "a day ago (spread by load)" if arguments.overdue else "NULL"
        print(f"next_check_at at start: {stored}")
        print(
            f"settings: check_concurrency {settings.check_concurrency}, "
            f"check_batch_size {settings.check_batch_size}, "
            f"check_flush_seconds {settings.check_flush_seconds}, "
            f"keep_check_results {settings.keep_check_results}, "
            f"rollup days minute/hour/day {settings.rollup_minute_days:g}/"
            f"{settings.rollup_hour_days:g}/{settings.rollup_day_days:g}"
        )
        print(f"seeded in {seeded_in:.1f} s: database {bytes_before / 1e6:.1f} MB")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        print()

        api: subprocess.Popen[bytes] | None = None
        if split:
            port = free_port()
            api = start_api(settings, port)
            app = build_worker(settings)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await loop.run_in_executor(None, wait_for_port, port)
        else:
            app = build_app(settings)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
        engine = app[CHECK_ENGINE]
        writer = engine._writer
        sampler = Sampler(lambda: writer.pending)
        sampling = asyncio.create_task(sampler.run())
        api_failure = ""

        def snapshot() -> Snapshot:
            return Snapshot(
                at=time.perf_counter(),
                cpu=cpu_seconds(),
                api_cpu=cpu_seconds(api.pid) if api is not None else 0.0,
                started=engine.stats.started,
                finished=engine.stats.finished,
                written=writer.stats.written,
                db_bytes=database_bytes(data_dir),
            )

        try:
            await asyncio.sleep(warmup)
            warm = snapshot()
            engine.stats.drift = deque()  # every start from here on, unbounded
            sampler.reset()
            write_seconds = writer.stats.write_seconds
            batches = writer.stats.batches
            await asyncio.sleep(duration - warmup)
            end = snapshot()
            drift = list(engine.stats.drift)
            lag, max_pending = sampler.lag, sampler.max_pending
            write_seconds = writer.stats.write_seconds - write_seconds
            batches = writer.stats.batches - batches
            try:
                latencies = await loop.run_in_executor(
                    pool, measure_api, f"http://127.0.0.1:{port}", first_id, API_SAMPLES
                )
            except Exception as exc:
                latencies = {}
                api_failure = f"{type(exc).__name__}: {exc}"
        finally:
            sampling.cancel()
            stopping = time.perf_counter()
            await runner.cleanup()
            stopped_in = time.perf_counter() - stopping
            if api is not None:
                api.terminate()
                api.wait(timeout=30)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        written_total = writer.stats.written

    after = table_sizes(data_dir)
    bytes_after = database_bytes(data_dir)
    statuses = status_counts(data_dir)

    seconds = end.at - warm.at
    checks = end.finished - warm.finished
    rate = checks / seconds
    print(f"checks per second (steady): {rate:.1f} (expected {monitors / interval:.1f})")
    print(f"checks finished in the measured period: {checks}")
    if drift:
        print(
            f"schedule drift p50 / p99 / max: {statistics.median(drift) * 1000:.1f} / "
            f"{quantile(drift, 0.99) * 1000:.1f} / {max(drift) * 1000:.1f} ms"
            f" ({len(drift)} starts)"
        )
        late = sum(1 for value in drift if value > 1.0)
        print(f"starts more than 1 s late: {late} ({100 * late / len(drift):.2f} %)")
    cpu = end.cpu - warm.cpu
    who = "worker" if split else "server"
    print(f"{who} CPU: {cpu:.1f} s over {seconds:.0f} s ({100 * cpu / seconds:.0f} % of one core)")
    if checks:
        print(f"{who} CPU per 1,000 checks: {1000 * cpu / checks:.2f} s")
    if split:
        api_cpu = end.api_cpu - warm.api_cpu
        print(f"API process CPU: {api_cpu:.1f} s ({100 * api_cpu / seconds:.0f} % of one core)")
    print(f"peak RSS: {peak_rss_mb:.0f} MB")
    if lag:
        print(
            f"event loop lag p50 / p99 / max: {statistics.median(lag) * 1000:.1f} / "
            f"{quantile(lag, 0.99) * 1000:.1f} / {max(lag) * 1000:.1f} ms"
        )
    written = end.written - warm.written
    print(
        f"results written: {written} in {batches} batches, {write_seconds:.1f} s in writes "
        f"({100 * write_seconds / seconds:.0f} % of the time), writer backlog max {max_pending}"
    )
    print(f"result statuses (whole run): {statuses}")
    print(f"shutdown (writer flushed): {stopped_in:.1f} s")
    print(f"errors logged (whole run): {sum(errors.found.values())}")
    for message, count in errors.found.items():
        print(f"  {count} x {message}")

    print()
    checks_per_day = 86400 / interval
    if written:
        growth = (end.db_bytes - warm.db_bytes) / written
        print(f"database + WAL file growth per result, measured period: {growth:.0f} bytes")
    if written_total:
        per_result = (bytes_after - bytes_before) / written_total
        print(
            f"database growth per result, whole run after checkpoint: {per_result:.0f} bytes"
            f" -> {per_result * checks_per_day / 1e6:.2f} MB per monitor per day"
            f" ({checks_per_day:.0f} checks/day, before retention)"
        )
    if before and after:
        result_rows = after.rows["check_result"] - before.rows["check_result"]
        rollup_rows = after.rows["monitor_rollup"] - before.rows["monitor_rollup"]
        result_bytes = after.bytes["check_result"] / max(1, after.rows["check_result"])
        rollup_bytes = after.bytes["monitor_rollup"] / max(1, after.rows["monitor_rollup"])
        print(f"check_result: {result_rows} rows, {result_bytes:.0f} bytes per row with its index")
        print(
            f"monitor_rollup: {rollup_rows} new rows ({rollup_rows / max(1, result_rows):.2f}"
            f" per result), {rollup_bytes:.0f} bytes per row with its indexes"
        )
        minutes_per_day = min(1440.0, checks_per_day)
        rollups_kept = (
            minutes_per_day * settings.rollup_minute_days
            + 24 * settings.rollup_hour_days
            + settings.rollup_day_days
        )
        bound = settings.keep_check_results * result_bytes + rollups_kept * rollup_bytes
        print(
            f"steady-state bound per monitor: {bound / 1e6:.2f} MB "
            f"({settings.keep_check_results} results + {rollups_kept:.0f} rollups)"
            f" -> {bound * monitors / 1e9:.2f} GB for {monitors} monitors"
        )
    print(f"database now: {bytes_after / 1e6:.1f} MB")

    print()
    if not latencies:
        print(f"API latency: not measured ({api_failure})")
        return
    points = latencies.pop("points in 30d metrics")[0]
    print(f"API latency, {API_SAMPLES} sequential requests each, while checks run:")
    for label, found in latencies.items():
        print(
            f"  {label}: p50 {statistics.median(found) * 1000:.1f} ms,"
            f" p99 {quantile(found, 0.99) * 1000:.1f} ms"
        )
    print(f"  (30d metrics returned {points:.0f} points)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between checks")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of running")
    parser.add_argument(
        "--role",
        choices=["split", "single"],
        default="split",
        help="split: worker here, API in its own process; single: both here",
    )
    parser.add_argument(
        "--overdue",
        action="store_true",
        help="store next_check_at a day ago instead of NULL (load() spreads the first round)",
    )
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    spawn = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="upmetr-bench-") as data_dir,
        ProcessPoolExecutor(1, mp_context=spawn) as pool,
    ):
        asyncio.run(run(arguments, Path(data_dir), pool))


if __name__ == "__main__":
    main()
