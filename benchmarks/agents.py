"""The server under a fleet of agents: ingest, API latency meanwhile, alert latency, storage.

`upmetr serve` (role all: the API process and its worker) runs on a fresh data directory
with one Enterprise organization, `--agents` agents (written straight into SQLite, with
tokens this script knows) and a metric rule (cpu_pct above 90, breach and recovery counts
of 1) on one of them, the probe. Then, for `--minutes`:

1. Fleet: a process of its own (aiohttp, `--connections` connections) posts one batch (a
   sample with two mounts) per agent every `--interval` seconds, the agents' start times
   spread over the interval, as `upmetr-agent` does. Counted: batches posted, answers by
   status (anything but 202 is a rejection), the achieved rate against the offered one,
   and the ingest latency p50/p99.
2. API: a member reads GET /agents?per_page=50 and GET /metrics/summary in turn, 5 times a
   second: p50/p99/max.
3. Alerts: the probe posts a breaching sample every 5 s, then a normal one 2.5 s later. An
   SSE stream (/api/v1/events) times each `incident.opened`: from the breaching post's
   send to the event's arrival (which the API sends after the commit), p50/p99/max.
4. Storage, after the run and apart from it: `--storage-agents` agents get a day of samples
   at 10 s (8,640 each, two mounts) through the server's own storage and rollup functions
   in a database of their own; dbstat gives the bytes per row of each table, and the
   steady state per agent is raw 24 h + 5-minute 30 d + hourly 400 d of rows.

    python benchmarks/agents.py                       # 5,000 agents, 3 minutes
    python benchmarks/agents.py --agents 500 --minutes 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from httpx_sse import aconnect_sse  # noqa: E402
from seeding import ARGON2, EMAIL, PASSWORD, database_url, free_port, seed_org  # noqa: E402

API = "/api/v1"


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def ms(values: list[float]) -> str:
    p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
    worst = max(values, default=float("nan")) * 1000
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms (n={len(values)})"


# Seeding


def seed(data_dir: Path, agents: int) -> list[tuple[int, str]]:
    """The org, its superadmin and `agents` agents; their (id, token)."""
    from server.auth.tokens import hash_secret
    from server.db.engine import create_engine, create_sessionmaker
    from server.db.migrate import upgrade

    url = database_url(str(data_dir))
    upgrade(url)

    async def seed_async() -> int:
        engine = create_engine(url)
        try:
            return await seed_org(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    org_id = asyncio.run(seed_async())
    tokens = [f"upa_{secrets.token_urlsafe(32)}" for _ in range(agents)]
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(data_dir / "upmetr.db") as db:
        db.executemany(
            "INSERT INTO agent (org_id, name, tags, token_hash, token_hint, status, created_at,"
            " updated_at) VALUES (?, ?, '[]', ?, ?, 'pending', ?, ?)",
            [(org_id, f"host-{n:05d}", hash_secret(token), "****" + token[-4:], now, now)
             for n, token in enumerate(tokens)],
        )  # fmt: skip
        ids = [row[0] for row in db.execute("SELECT id FROM agent ORDER BY id")]
    return list(zip(ids, tokens, strict=True))


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "UPMETR_DATA_DIR": str(data_dir),
        "UPMETR_RATE_LIMIT_USER": "100000000/minute",
        "UPMETR_RATE_LIMIT_ANON": "100000000/minute",
        **{f"UPMETR_{name.upper()}": str(value) for name, value in ARGON2.items()},
    }
    upmetr = Path(sys.executable).with_name("upmetr")
    with (data_dir / "server.log").open("ab") as log:
        return subprocess.Popen(
            [str(upmetr), "serve", "--role", "all", "--port", str(port)],
            env=env, cwd=data_dir, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def batch(cpu: float, at: datetime | None = None) -> dict[str, Any]:
    ts = (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    disks = [{"mount": mount, "total_bytes": 10**11, "used_bytes": 4 * 10**10, "pct": pct}
             for mount, pct in (("/", 40.0), ("/data", 61.5))]  # fmt: skip
    sample = {"ts": ts, "cpu_pct": cpu, "mem_pct": 42.0, "mem_used": 3 * 2**30, "disk": disks,
              "net": {"rx_bps": 12_000.0, "tx_bps": 8_000.0, "errors_per_min": 0.0},
              "load": [0.42, 0.35, 0.3]}  # fmt: skip
    return {"hostname": "bench", "os": "Linux 6.1", "agent_version": "0.1.0",
            "interval_seconds": 10, "samples": [sample], "containers": []}  # fmt: skip


# 1. The fleet, in a process of its own


def fleet(base_url: str, tokens: list[str], interval: float, seconds: float,
          connections: int, results: Any) -> None:  # fmt: skip
    results.put(asyncio.run(_fleet(base_url, tokens, interval, seconds, connections)))


async def _fleet(
    base_url: str, tokens: list[str], interval: float, seconds: float, connections: int
) -> dict[str, Any]:
    import aiohttp

    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(base_url, connector=connector) as session:

        async def agent(token: str, offset: float) -> None:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            tick = started + offset
            while tick < started + seconds:
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
                body = json.dumps(batch(cpu=20.0))
                sent = time.monotonic()
                try:
                    async with session.post(f"{API}/agents/ingest", data=body,
                                            headers=headers) as reply:  # fmt: skip
                        await reply.read()
                        statuses[reply.status] += 1
                except aiohttp.ClientError:
                    statuses[0] += 1
                latencies.append(time.monotonic() - sent)
                tick += interval

        count = len(tokens)
        await asyncio.gather(*(agent(t, interval * n / count) for n, t in enumerate(tokens)))
    return {"statuses": dict(statuses), "latencies": latencies,
            "seconds": time.monotonic() - started}  # fmt: skip


# 2 and 3. API latency and alert latency, here


async def read_api(client: httpx.AsyncClient, headers: dict[str, str], stop: asyncio.Event,
                   latencies: list[float], failures: Counter[int]) -> None:  # fmt: skip
    paths = [f"{API}/agents?per_page=50", f"{API}/metrics/summary"]
    n = 0
    while not stop.is_set():
        sent = time.monotonic()
        reply = await client.get(paths[n % 2], headers=headers)
        latencies.append(time.monotonic() - sent)
        if reply.status_code != 200:
            failures[reply.status_code] += 1
        n += 1
        await asyncio.sleep(max(0.0, 0.2 - (time.monotonic() - sent)))


async def probe_alerts(client: httpx.AsyncClient, headers: dict[str, str], probe_token: str,
                       stop: asyncio.Event, latencies: list[float]) -> None:  # fmt: skip
    breaches: list[float] = []
    opened: list[float] = []
    ready = asyncio.Event()

    async def listen() -> None:
        async with aconnect_sse(client, "GET", f"{API}/events", headers=headers) as source:
            ready.set()
            async for event in source.aiter_sse():
                if event.event == "incident.opened":
                    opened.append(time.monotonic())

    listener = asyncio.create_task(listen())
    await ready.wait()
    agent_headers = {"Authorization": f"Bearer {probe_token}"}
    while not stop.is_set():
        for cpu in (99.0, 10.0):
            sent = time.monotonic()
            reply = await client.post(f"{API}/agents/ingest", json=batch(cpu),
                                      headers=agent_headers)  # fmt: skip
            if reply.status_code != 202:
                raise SystemExit(f"probe: {reply.status_code} {reply.text}")
            if cpu > 90:
                breaches.append(sent)
            await asyncio.sleep(2.5)
    await asyncio.sleep(2)
    listener.cancel()
    # Each incident.opened against the last breaching post sent before it: when ingest
    # falls behind, a breach can wait so long that pairing them in order would mislead.
    for seen in opened:
        before = [sent for sent in breaches if sent <= seen]
        if before:
            latencies.append(seen - before[-1])


# 4. Storage


def storage(agents: int) -> dict[str, float]:
    """Bytes per row of each metrics table after a day of samples, and the steady state."""
    from server.db.engine import create_engine, create_sessionmaker
    from server.db.migrate import upgrade
    from server.metrics import rollups
    from server.metrics import storage as metric_storage
    from shared.api.agents import Sample

    with tempfile.TemporaryDirectory() as directory:
        url = database_url(directory)
        upgrade(url)
        day = 8_640
        end = datetime.now(UTC).replace(microsecond=0, second=0) - timedelta(minutes=10)

        async def fill() -> None:
            from sqlalchemy import text

            engine = create_engine(url)
            sessions = create_sessionmaker(engine)
            try:
                org_id = await seed_org(sessions)
                async with sessions() as db, db.begin():
                    for n in range(agents):
                        await db.execute(text(
                            "INSERT INTO agent (org_id, name, tags, token_hash, token_hint, status,"
                            " created_at, updated_at) VALUES (:org, :name, '[]', :hash, '****', "
                            "'online', '2026-01-01', '2026-01-01')"
                        ), {"org": org_id, "name": f"s{n}", "hash": f"h{n}"})  # fmt: skip
                    ids = list(await db.scalars(text("SELECT id FROM agent")))
                for agent_id in ids:
                    samples = [
                        Sample.model_validate(
                            batch(cpu=(i * 7919 % 1000) / 10,
                                  at=end - timedelta(seconds=10 * (day - i)))["samples"][0]
                        )
                        for i in range(day)
                    ]  # fmt: skip
                    first = metric_storage.epoch(samples[0].ts)
                    async with sessions() as db, db.begin():
                        await metric_storage.write(db, agent_id, samples, {})
                        await db.execute(text(
                            "UPDATE agent SET rollup_5m_from = :five, rollup_1h_from = :hour "
                            "WHERE id = :id"
                        ), {"five": first - first % 300, "hour": first - first % 3600,
                            "id": agent_id})  # fmt: skip
                async with sessions() as db, db.begin():
                    await rollups.roll_up(db, int(time.time()))
            finally:
                await engine.dispose()

        asyncio.run(fill())
        with sqlite3.connect(Path(directory) / "upmetr.db") as raw:
            raw.execute("VACUUM")
            sizes = dict(raw.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
            counts = {
                (table, resolution): raw.execute(
                    f"SELECT count(*) FROM {table} WHERE {where}"
                ).fetchone()[0]
                for table, resolution, where in (
                    ("agent_sample", 0, "1"), ("series_sample", 0, "1"),
                    ("agent_rollup", 300, "resolution = 300"),
                    ("agent_rollup", 3600, "resolution = 3600"),
                    ("series_rollup", 300, "resolution = 300"),
                    ("series_rollup", 3600, "resolution = 3600"),
                )
            }  # fmt: skip
    rollup_rows = {
        t: counts[(t, 300)] + counts[(t, 3600)] for t in ("agent_rollup", "series_rollup")
    }
    per_row = {
        "agent_sample": sizes["agent_sample"] / counts[("agent_sample", 0)],
        "series_sample": sizes["series_sample"] / counts[("series_sample", 0)],
        "agent_rollup": sizes["agent_rollup"] / rollup_rows["agent_rollup"],
        "series_rollup": sizes["series_rollup"] / rollup_rows["series_rollup"],
    }
    mounts = 2
    kept_buckets = 30 * 288 + 400 * 24  # 5-minute for 30 days, hourly for 400
    host = day * per_row["agent_sample"] + kept_buckets * per_row["agent_rollup"]
    mount = day * per_row["series_sample"] + kept_buckets * per_row["series_rollup"]
    steady = host + mounts * mount
    return {**{f"{k}_bytes_per_row": v for k, v in per_row.items()}, "steady_bytes": steady}


# The run


async def measure(base_url: str, agents: list[tuple[int, str]], args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        login = await client.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        probe_id, probe_token = agents[0]
        rule = {"name": "probe hot", "trigger_type": "infra_metric", "metric": "cpu_pct",
                "condition": "above", "threshold": 90.0, "breach_count": 1, "recovery_count": 1,
                "scope": {"agent_ids": [probe_id]}}  # fmt: skip
        assert (
            await client.post(f"{API}/alert-rules", json=rule, headers=headers)
        ).status_code == 201
        results: Any = multiprocessing.Queue()
        seconds = args.minutes * 60
        fleet_process = multiprocessing.Process(
            target=fleet,
            args=(base_url, [t for _, t in agents[1:]], args.interval, seconds, args.connections,
                  results),
        )  # fmt: skip
        fleet_process.start()
        stop = asyncio.Event()
        api_latencies: list[float] = []
        api_failures: Counter[int] = Counter()
        alert_latencies: list[float] = []
        tasks = [
            asyncio.create_task(read_api(client, headers, stop, api_latencies, api_failures)),
            asyncio.create_task(probe_alerts(client, headers, probe_token, stop, alert_latencies)),
        ]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        fleet_result = await asyncio.get_running_loop().run_in_executor(None, results.get)
        fleet_process.join()
    posted = sum(fleet_result["statuses"].values())
    offered = (len(agents) - 1) / args.interval
    print(f"fleet: {len(agents) - 1} agents every {args.interval:g} s = {offered:.0f} posts/s "
          f"offered; {posted} posted in {fleet_result['seconds']:.0f} s = "
          f"{posted / fleet_result['seconds']:.0f}/s; "
          f"answers {fleet_result['statuses']}")  # fmt: skip
    print(f"ingest latency: {ms(fleet_result['latencies'])}")
    print(f"API reads meanwhile: {ms(api_latencies)}; failures {dict(api_failures)}")
    print(f"alert latency (breaching post sent -> incident.opened received): {ms(alert_latencies)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--storage-agents", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        agents = seed(data_dir, args.agents + 1)
        port = free_port()
        server = start_server(data_dir, port)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            try:
                asyncio.run(measure(f"http://127.0.0.1:{port}", agents, args))
            except SystemExit:
                # The run stops at the first error answer; the server's log says why, and
                # goes with the data directory.
                print((data_dir / "server.log").read_text()[-6000:], file=sys.stderr)
                raise
            database = data_dir / "upmetr.db"
            print(f"database after the run: {database.stat().st_size / 2**20:.1f} MiB "
                  f"(+ WAL {Path(f'{database}-wal').stat().st_size / 2**20:.1f} MiB)")  # fmt: skip
        finally:
            server.terminate()
            server.wait(30)
    figures = storage(args.storage_agents)
    rows = ", ".join(f"{k.removesuffix('_bytes_per_row')} {v:.0f} B"
                     for k, v in figures.items() if k.endswith("_per_row"))  # fmt: skip
    print(f"storage per row (after VACUUM): {rows}")
    print(
        f"steady state per agent (raw 24 h, 5-minute 30 d, hourly 400 d; 2 mounts): "
        f"{figures['steady_bytes'] / 2**20:.2f} MiB (goal <= 1 MB)"
    )


if __name__ == "__main__":
    main()
