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
4. Storage, after the run and apart from it (or alone, `--storage-only`): `--storage-agents`
   agents get a day of samples at 10 s (8,640 each, two mounts, values wandering as a busy
   host's do) through the server's own storage, rollup and sealing functions in a database
   of their own. dbstat gives the bytes per row of each table before sealing and per block
   after it; the steady state per agent is raw 24 h + 5-minute 30 d + hourly 400 d, as rows
   alone and sealed (the newest hours and days stay rows).

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
from collections.abc import Iterator
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


def storage(agents: int, days: int) -> dict[str, float]:
    """Bytes per agent at steady state, as rows alone and with past periods sealed."""
    from server.db.engine import create_engine, create_sessionmaker
    from server.db.migrate import upgrade
    from server.metrics import blocks, rollups
    from server.metrics import storage as metric_storage

    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - days * DAY
    with tempfile.TemporaryDirectory() as directory:
        url = database_url(directory)
        upgrade(url)

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
                    for samples in busy_host(agent_id, start, days):
                        async with sessions() as db, db.begin():
                            await metric_storage.write(db, agent_id, samples, {})
                async with sessions() as db, db.begin():
                    first = int(start.timestamp())
                    await db.execute(text(
                        "UPDATE agent SET rollup_5m_from = :first, rollup_1h_from = :first"
                    ), {"first": first})  # fmt: skip
                    await rollups.roll_up(db, int(time.time()))
            finally:
                await engine.dispose()

        async def seal() -> None:
            from sqlalchemy import text

            engine = create_engine(url)
            sessions = create_sessionmaker(engine)
            # Every period filled has ended long ago, the hourly rollups' ten days included.
            later = int((midnight + timedelta(days=20)).timestamp())
            try:
                async with sessions() as db, db.begin():
                    await db.execute(text(
                        "UPDATE agent SET rollup_5m_from = :later, rollup_1h_from = :later"
                    ), {"later": later})  # fmt: skip
                after = -1
                while after:
                    async with sessions() as db, db.begin():
                        _, after = await blocks.seal(db, later, max(after, 0))
            finally:
                await engine.dispose()

        asyncio.run(fill())
        database = Path(directory) / "upmetr.db"
        rows = _row_sizes(database)
        asyncio.run(seal())
        per_unit = _sealed_sizes(database)
    # At steady state: raw 24 h, 5-minute 30 d, hourly 400 d, each sealed up to the hour
    # that ended two hours ago; the ~3 hours after it stay rows. A label is a mount.
    mounts = 2
    as_rows = {
        kind: 8_640 * rows[f"{kind} sample"] + (30 * 288 + 400 * 24) * rows[f"{kind} rollup"]
        for kind in ("host", "series")
    }
    sealed = {
        kind: 3 * 360 * rows[f"{kind} sample"] + 21 * 360 * per_unit[(kind, 0)]
        + 3 * 12 * rows[f"{kind} rollup"] + (30 * 288 - 36) * per_unit[(kind, 300)]
        + 3 * rows[f"{kind} rollup"] + (400 * 24 - 3) * per_unit[(kind, 3600)]
        for kind in ("host", "series")
    }  # fmt: skip
    return {
        **{f"{kind} row": size for kind, size in rows.items()},
        **{f"{kind} {res or 'raw'} sealed per row": size for (kind, res), size in per_unit.items()},
        "rows_bytes": as_rows["host"] + mounts * as_rows["series"],
        "steady_bytes": sealed["host"] + mounts * sealed["series"],
    }


DAY = timedelta(days=1)


def busy_host(seed: int, start: datetime, days: int) -> Iterator[list[Any]]:
    """Days of samples 10 s apart, a list a day, as a busy host reports them: cpu, network
    and load following a daily cycle with noise that wanders and returns (an
    Ornstein-Uhlenbeck process) and jitter on top, cpu with one decimal as psutil gives it;
    memory drifting; a root disk filling slowly and a data disk steady."""
    import math
    import random

    from shared.api.agents import Sample

    rng = random.Random(seed)
    wander = {"cpu": 0.0, "rx": 0.0, "tx": 0.0, "load": 0.0}
    spread = {"cpu": 1.5, "rx": 800.0, "tx": 300.0, "load": 0.05}
    mem, root = 40.0, 40.0
    for day in range(days):
        samples = []
        for i in range(8_640):
            cycle = 1 + 0.5 * math.sin(2 * math.pi * i / 8_640)  # busier by day
            for name, value in wander.items():
                wander[name] = value * 0.95 + rng.gauss(0, spread[name])
            mem = min(90.0, max(10.0, mem + rng.gauss(0, 0.05)))
            root = min(99.0, root + 0.0005)
            cpu = 25 * cycle + wander["cpu"] + rng.gauss(0, 3)
            load = max(0.0, 0.8 * cycle + wander["load"])
            rx = max(0.0, 20_000 * cycle + wander["rx"]) * rng.uniform(0.9, 1.1)
            tx = max(0.0, 8_000 * cycle + wander["tx"]) * rng.uniform(0.9, 1.1)
            samples.append(Sample.model_validate({
                "ts": start + timedelta(days=day, seconds=10 * i),
                "cpu_pct": round(min(100.0, max(0.0, cpu)), 1),
                "mem_pct": round(mem, 1),
                "mem_used": 3 * 2**30,
                "disk": [
                    {"mount": "/", "total_bytes": 10**11, "used_bytes": int(root * 10**9),
                     "pct": round(root, 2)},
                    {"mount": "/data", "total_bytes": 10**12, "used_bytes": 615 * 10**9,
                     "pct": 61.5},
                ],
                "net": {"rx_bps": round(rx, 1), "tx_bps": round(tx, 1),
                        "errors_per_min": 0.0 if rng.random() < 0.99 else 6.0},
                "load": [round(load, 2), round(load, 2), round(load, 2)],
            }))  # fmt: skip
        yield samples


def _row_sizes(database: Path) -> dict[str, float]:
    """Bytes per row of the four metric tables, by dbstat after VACUUM."""
    with sqlite3.connect(database) as raw:
        raw.execute("VACUUM")
        sizes = dict(raw.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        counts = {table: raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("agent_sample", "series_sample", "agent_rollup",
                                "series_rollup")}  # fmt: skip
    return {
        f"{kind} {shape}": sizes[table] / counts[table]
        for kind, prefix in (("host", "agent"), ("series", "series"))
        for shape, table in (("sample", f"{prefix}_sample"), ("rollup", f"{prefix}_rollup"))
    }


def _sealed_sizes(database: Path) -> dict[tuple[str, int], float]:
    """Bytes per sealed row (sample or bucket) by shape and resolution: each shape's blocks
    alone in a copy of the database, their pages by dbstat (keys, their index, overflow
    pages and all) past those of the empty table, over the rows they hold."""
    from server.metrics import packing

    def pages_of(keep: str, *arguments: Any) -> tuple[int, int]:
        copy = database.with_suffix(".copy")
        with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
            source.backup(target)  # the WAL's pages included
        with sqlite3.connect(copy) as raw:
            raw.execute(f"DELETE FROM metric_block WHERE NOT ({keep})", arguments)
            raw.commit()
            raw.execute("VACUUM")
            (pages,) = raw.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name = 'metric_block'"
                " OR name LIKE 'sqlite_autoindex_metric_block%'"
            ).fetchone()
            held = sum(len(packing.unpack(data, [])) for (data,) in raw.execute(
                "SELECT data FROM metric_block"))  # fmt: skip
        copy.unlink()
        return pages, held

    empty, _ = pages_of("0")
    found: dict[tuple[str, int], float] = {}
    for host in (True, False):
        for resolution in (0, 300, 3600):
            pages, held = pages_of("(metric = '') = ? AND resolution = ?", host, resolution)
            found[("host" if host else "series", resolution)] = (pages - empty) / held
    return found


# The run


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    base_url: str, agents: list[tuple[int, str]], args: argparse.Namespace, api_pid: int
) -> None:
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
        cpu_before, started = cpu_seconds(api_pid), time.monotonic()
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
        # Up to the fleet's last answer: a server that falls behind answers after the run.
        api_cpu, elapsed = cpu_seconds(api_pid) - cpu_before, time.monotonic() - started
        fleet_process.join()
    posted = sum(fleet_result["statuses"].values())
    offered = (len(agents) - 1) / args.interval
    print(f"fleet: {len(agents) - 1} agents every {args.interval:g} s = {offered:.0f} posts/s "
          f"offered; {posted} posted in {fleet_result['seconds']:.0f} s = "
          f"{posted / fleet_result['seconds']:.0f}/s; "
          f"answers {fleet_result['statuses']}")  # fmt: skip
    print(f"ingest latency: {ms(fleet_result['latencies'])}")
    print(f"API process CPU: {api_cpu * 1000 / max(posted, 1):.2f} ms per post "
          f"({100 * api_cpu / elapsed:.0f} % of a core)")  # fmt: skip
    print(f"API reads meanwhile: {ms(api_latencies)}; failures {dict(api_failures)}")
    print(f"alert latency (breaching post sent -> incident.opened received): {ms(alert_latencies)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--storage-agents", type=int, default=2)
    parser.add_argument("--storage-days", type=int, default=10)
    parser.add_argument("--storage-only", action="store_true", help="measure storage alone")
    args = parser.parse_args()
    if args.storage_only:
        print_storage(storage(args.storage_agents, args.storage_days))
        return
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
                asyncio.run(measure(f"http://127.0.0.1:{port}", agents, args, server.pid))
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
    print_storage(storage(args.storage_agents, args.storage_days))


def print_storage(figures: dict[str, float]) -> None:
    sizes = ", ".join(
        f"{k} {v:.0f} B" for k, v in figures.items() if k.endswith((" row", " block"))
    )
    print(f"storage (after VACUUM): {sizes}")
    print(
        "steady state per agent (raw 24 h, 5-minute 30 d, hourly 400 d; 2 mounts): "
        f"{figures['steady_bytes'] / 1e6:.2f} MB sealed, {figures['rows_bytes'] / 1e6:.2f} MB "
        "as rows alone (goal <= 1 MB)"
    )


if __name__ == "__main__":
    main()
