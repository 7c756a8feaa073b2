"""The public status page under load (issue 19's measure).

Seeds one Enterprise organization with 50 http monitors and 90 days of daily rollups (30
days of hourly ones), publishes them on the global page with an announcement, starts the
installed `upmetr serve` (engines off) and measures:

1. The page's weight: raw and gzipped, as a browser that sends `Accept-Encoding: gzip`
   receives it (goal: 50 KB gzipped or less).
2. A render after a change (the cache emptied by the edit): the first GET after each of
   20 edits of the page's title, timed (median and worst).
3. wrk, 50 connections, rounds interleaved: the HTML page and the public JSON of the same
   page, both from the cache. req/s, p50, p99 and the server's CPU time per request,
   beside what a render costs (2.): the requests per second a server without the cache
   could answer at most, one render each.

    apt-get install -y wrk && pip install .
    python benchmarks/status_pages.py [--seconds 10] [--rounds 3] [--connections 50]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from api_vs_peer import _ms, cpu_seconds, start_upmetr, upmetr_token
from seeding import database_url, free_port, seed

MONITORS = 50
HISTORY_DAYS = 90
SEEDED_DAYS = 30  # seeding.seed writes 30 days of rollups; the rest are added here


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float


def add_older_days(data_dir: str) -> None:
    """Days 31 to 90 of every monitor's daily history (a bad day now and then)."""
    asyncio.run(_add_older_days(data_dir))


async def _add_older_days(data_dir: str) -> None:
    from sqlalchemy import insert, select

    from server.db.base import Base
    from server.db.engine import create_engine, create_sessionmaker

    rollup, monitor = Base.metadata.tables["monitor_rollup"], Base.metadata.tables["monitor"]
    sessions = create_sessionmaker(create_engine(database_url(data_dir)))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with sessions() as db, db.begin():
        ids = list(await db.scalars(select(monitor.c.id)))
        rows = [
            {"monitor_id": monitor_id, "period": "day", "up": 1440 - down, "down": down,
             "bucket_start": today - timedelta(days=back), "measured": 1440,
             "sum_ms": 1440 * 30, "min_ms": 5, "max_ms": 250, "p95_ms": 60}
            for monitor_id in ids
            for back in range(SEEDED_DAYS + 1, HISTORY_DAYS)
            for down in [40 if (back + monitor_id) % 23 == 0 else 0]
        ]  # fmt: skip
        await db.execute(insert(rollup), rows)


def publish(base: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        ids = [m["id"] for m in api.get("/api/v1/monitors?per_page=200").json()["items"]]
        page = {"enabled": True, "title": "Bench Status", "monitor_ids": ids[:MONITORS]}
        api.put("/api/v1/status-pages/global", json=page).raise_for_status()
        api.post("/api/v1/status-pages/announcements", json={
            "title": "Degraded search", "body": "Looking into it", "state": "identified",
        }).raise_for_status()  # fmt: skip


def weight(base: str) -> tuple[int, int]:
    """(raw, gzipped) bytes of the page as sent to a browser that takes gzip."""
    with httpx.Client() as client:
        with client.stream(
            "GET", f"{base}/status/bench", headers={"Accept-Encoding": "gzip"}
        ) as sent:
            sent.raise_for_status()
            assert sent.headers["Content-Encoding"] == "gzip"
            compressed = b"".join(sent.iter_raw())
        raw = client.get(f"{base}/status/bench", headers={"Accept-Encoding": "identity"})
    assert gzip.decompress(compressed) == raw.content
    return len(raw.content), len(compressed)


def render_after_change(base: str, token: str, times: int = 20) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    spent = []
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/api/v1/status-pages/global", headers=headers).json()
        for n in range(times):
            body = {key: page[key] for key in ("enabled", "monitor_ids", "history_days")}
            client.put("/api/v1/status-pages/global", headers=headers,
                       json={**body, "title": f"Bench Status {n}"}).raise_for_status()  # fmt: skip
            time.sleep(0.05)  # the change's event reaches the cache after the answer
            started = time.perf_counter()
            client.get("/status/bench").raise_for_status()
            spent.append((time.perf_counter() - started) * 1000)
    return spent


def run_wrk(base: str, path: str, pid: int, seconds: float, connections: int) -> Figures:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency",
               "-H", "Accept-Encoding: gzip", base + path]  # fmt: skip
    before = cpu_seconds(pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before

    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Figures(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        errors=int(errors.group(1)) if errors else 0,
        cpu_ms=used * 1000 / max(requests, 1),
    )


def main(seconds: float, rounds: int, connections: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        seed(str(data_dir), "http://127.0.0.1:9/", MONITORS, 60, False)
        add_older_days(str(data_dir))
        port = free_port()
        server = start_upmetr(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            token = upmetr_token(port)
            publish(base, token)
            raw, gzipped = weight(base)
            print(f"page: {MONITORS} monitors x {HISTORY_DAYS} days: {raw:,} bytes raw, "
                  f"{gzipped:,} bytes gzipped ({gzipped / 1024:.1f} KiB)")  # fmt: skip
            spent = render_after_change(base, token)
            print(f"first GET after a change (render): median {statistics.median(spent):.1f} ms, "
                  f"worst {max(spent):.1f} ms over {len(spent)} changes")  # fmt: skip
            cases = {"HTML page": "/status/bench", "public JSON": "/api/v1/public/status/bench"}
            results: dict[str, list[Figures]] = {label: [] for label in cases}
            for round_number in range(1, rounds + 1):
                for label, path in cases.items():
                    figures = run_wrk(base, path, server.pid, seconds, connections)
                    results[label].append(figures)
                    print(
                        f"round {round_number} {label}: {figures.rps:,.0f} req/s, "
                        f"p50 {figures.p50_ms:.1f} ms, p99 {figures.p99_ms:.1f} ms, "
                        f"CPU {figures.cpu_ms:.3f} ms/request, errors {figures.errors}"
                    )
            print("medians:")
            medians = {}
            for label, runs in results.items():
                rps = statistics.median(run.rps for run in runs)
                p99 = statistics.median(run.p99_ms for run in runs)
                cpu = statistics.median(run.cpu_ms for run in runs)
                medians[label] = rps
                print(f"  {label}: {rps:,.0f} req/s, p99 {p99:.1f} ms, CPU {cpu:.3f} ms/request")
            uncached = 1000 / statistics.median(spent)
            print(
                f"without the cache, one render a request: at most {uncached:,.0f} req/s "
                f"per core; the cached page: {medians['HTML page'] / uncached:,.0f}x that"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    arguments = parser.parse_args()
    main(arguments.seconds, arguments.rounds, arguments.connections)
