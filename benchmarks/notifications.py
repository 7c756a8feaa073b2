"""The notification outbox end to end: from an incident's commit to a webhook on 127.0.0.1.

`upmetr serve` (role all: the API process and the worker process it supervises) runs on a
fresh data directory with one Enterprise organization and its superadmin; a webhook
receiver (aiohttp, a process of its own) records every request it gets: its `webhook-id`,
when it arrived (CLOCK_MONOTONIC, which every process of the machine shares), the incident
id in the body, whether the Standard Webhooks signature is right, and its answer (204, or
503 for a `--fail-rate` fraction of requests). A channel and a rule route `incident.opened`
to it; the member's own email of each incident (on by default) is turned off, as no mail
server runs here. Then:

1. Burst: `--incidents` manual incidents through the API from `--clients` concurrent
   clients. Per incident, the time from the API's 201 (its commit) to the receiver's first
   204: p50/p90/p99/max; deliveries per second (incidents delivered / first to last
   arrival), which the API's creation rate bounds.
2. Backlog (without --kill-every): the worker is paused (SIGSTOP) while as many incidents
   again are created, then resumed (SIGCONT): the dispatcher's own rate, unbounded by the
   API, is deliveries / (resume to last arrival).
3. With `--kill-every S`, the worker is SIGKILLed S seconds after each start (its "worker
   running" log line) from the burst's start until every incident of the burst has been
   delivered once; the API process starts another after its back-off (1 s, doubling).
   A delivery in flight at a kill stays leased until its lease lapses (60 s), then goes
   again with the same webhook-id.
4. Settle: wait until every incident is delivered (or `--settle` seconds have passed).
   The dispatcher's backoff (10 s, 1 min, 5 min, ...) is not a setting, so with
   `--fail-rate`, pending retries are made due at once with a direct SQL update of
   `next_attempt_at` every few seconds (printed); leases are left to lapse.
5. Checks: lost (an incident never delivered), duplicates (one webhook-id accepted more
   than once), incidents told under two webhook-ids (two deliveries, which must be 0), bad
   signatures, and the delivery rows' statuses in the database.

    python benchmarks/notifications.py                                  # about 30 s
    python benchmarks/notifications.py --kill-every 3 --fail-rate 0.1   # about 2 minutes
    python benchmarks/notifications.py --profile /path/to/py-spy        # where the time goes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from outbox_rows import (  # noqa: E402
    attempts_of,
    delivery_rows,
    make_retries_due,
    pending_rows,
    round_starts,
    rounds,
)
from profiling import profiled  # noqa: E402
from seeding import ARGON2, EMAIL, PASSWORD, database_url, free_port, seed_org  # noqa: E402
from webhook_receiver import SECRET, Receiver, running_receiver, wait_for  # noqa: E402

API = "/api/v1"
WARMUP_INCIDENTS = 5
NUDGE_SECONDS = 3.0  # how often pending retries are made due (with --fail-rate)
TICKS = os.sysconf("SC_CLK_TCK")
KILL_SLACK = 1.0  # a kill this long before a 204 may still have cut its sender short


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far, from /proc/<pid>/stat (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


# The server


def seed(data_dir: Path) -> None:
    from server.db.engine import create_engine, create_sessionmaker
    from server.db.migrate import upgrade

    url = database_url(str(data_dir))
    upgrade(url)

    async def seed_async() -> None:
        engine = create_engine(url)
        try:
            await seed_org(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    asyncio.run(seed_async())


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """`upmetr serve` (role all) on the data directory; its log goes to server.log there."""
    env = {
        **os.environ,
        "UPMETR_DATA_DIR": str(data_dir),
        "UPMETR_DEFAULT_PLAN": "enterprise",
        "UPMETR_RATE_LIMIT_USER": "100000000/minute",
        "UPMETR_RATE_LIMIT_ANON": "100000000/minute",
        "UPMETR_ALLOW_PRIVATE_TARGETS": "1",  # the receiver is on 127.0.0.1
        **{f"UPMETR_{name.upper()}": str(value) for name, value in ARGON2.items()},
    }
    upmetr = Path(sys.executable).with_name("upmetr")
    with (data_dir / "server.log").open("ab") as log:
        # cwd: `python -m server.worker` must import the installed package, not a checkout.
        return subprocess.Popen(
            [str(upmetr), "serve", "--role", "all", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def worker_pid(api_pid: int) -> int | None:
    """The API process's child running `server.worker`, if one runs now."""
    for task in Path(f"/proc/{api_pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
                if b"server.worker" in cmdline and not _is_zombie(int(child)):
                    return int(child)
    return None


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


async def wait_for_worker(api_pid: int, seconds: float = 60.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid = worker_pid(api_pid)
        if pid is not None:
            return pid
        await asyncio.sleep(0.05)
    raise SystemExit("the API process started no worker")


# The run


@dataclass
class Burst:
    created_at: dict[int, float] = field(default_factory=dict)  # incident id -> its 201
    request_seconds: list[float] = field(default_factory=list)
    began: float = 0.0
    ended: float = 0.0


async def create_incidents(
    client: httpx.AsyncClient, headers: dict[str, str], count: int, clients: int, label: str
) -> Burst:
    burst = Burst(began=time.monotonic())
    numbers = iter(range(count))

    async def one_client() -> None:
        for number in numbers:
            body = {"title": f"{label} {number}", "severity": "critical"}
            sent = time.monotonic()
            reply = await client.post(f"{API}/incidents", json=body, headers=headers)
            answered = time.monotonic()
            if reply.status_code != 201:
                raise SystemExit(f"POST /incidents: {reply.status_code} {reply.text[:300]}")
            burst.created_at[int(reply.json()["id"])] = answered
            burst.request_seconds.append(answered - sent)

    await asyncio.gather(*(one_client() for _ in range(clients)))
    burst.ended = time.monotonic()
    return burst


async def kill_workers(log: Path, every: float, stop: asyncio.Event, kills: list[float]) -> None:
    """SIGKILL each worker `every` seconds after it logged "worker running" (its engines
    started: a worker killed while it still imports never claims anything), until `stop`."""
    offset = 0
    running: dict[int, float] = {}  # pid -> when its "worker running" line was seen
    killed: set[int] = set()
    while not stop.is_set():
        with log.open("rb") as file:
            file.seek(offset)
            lines = file.read().splitlines(keepends=True)
        for line in lines:
            if not line.endswith(b"\n"):
                break  # half written: read it whole next time
            offset += len(line)
            found = re.search(rb"worker running \(pid (\d+)\)", line)
            if found:
                running[int(found[1])] = time.monotonic()
        for pid, since in running.items():
            if pid not in killed and time.monotonic() - since >= every:
                killed.add(pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    kills.append(time.monotonic())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


async def settle(
    client: httpx.AsyncClient,
    receiver: Receiver,
    wanted: set[int],
    seconds: float,
    data_dir: Path,
    nudge: bool,
    on_delivered: Callable[[], None] | None = None,
) -> tuple[float, int]:
    """Wait until every wanted incident was delivered and no delivery row is pending (every
    outcome recorded, every lease of a killed worker lapsed and sent again), or `seconds`
    passed: (waited, nudged)."""
    began = time.monotonic()
    nudged, nudged_at = 0, began
    while time.monotonic() - began < seconds:
        await receiver.refresh(client)
        delivered = wanted <= receiver.delivered_at.keys()
        if delivered and on_delivered is not None:
            on_delivered()
            on_delivered = None
        if delivered and not pending_rows(data_dir):
            break
        if nudge and time.monotonic() - nudged_at >= NUDGE_SECONDS:
            nudged += make_retries_due(data_dir)
            nudged_at = time.monotonic()
        await asyncio.sleep(0.1)
    return time.monotonic() - began, nudged


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    ms = [value * 1000 for value in values]
    return (
        f"{statistics.median(ms):.0f} / {quantile(ms, 0.9):.0f} / "
        f"{quantile(ms, 0.99):.0f} / {max(ms):.0f} ms"
    )


async def run(arguments: argparse.Namespace, data_dir: Path) -> int:
    began = time.monotonic()
    port = free_port()
    server = start_server(data_dir, port)
    rows: list[tuple[str, str]] = []
    try:
        await asyncio.get_running_loop().run_in_executor(None, wait_for, port)
        with running_receiver(arguments.fail_rate) as (receiver_port, receiver_pid):
            receiver = Receiver(receiver_port, receiver_pid)
            return await measure(arguments, data_dir, server.pid, port, receiver, rows)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        print(f"\nwhole run: {time.monotonic() - began:.0f} s")


async def measure(
    arguments: argparse.Namespace,
    data_dir: Path,
    api_pid: int,
    port: int,
    receiver: Receiver,
    rows: list[tuple[str, str]],
) -> int:
    count, clients, kill_every = arguments.incidents, arguments.clients, arguments.kill_every
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        login = await client.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        channel = await client.post(
            f"{API}/notifications/channels",
            json={"name": "bench", "type": "webhook",
                  "config": {"url": f"{receiver.url}/hook", "secret": SECRET}},
            headers=headers,
        )  # fmt: skip
        if channel.status_code != 201:
            raise SystemExit(f"channel: {channel.status_code} {channel.text[:300]}")
        rule = await client.post(
            f"{API}/notifications/rules",
            json={"name": "all opened", "events": ["incident.opened"],
                  "channel_ids": [channel.json()["id"]]},
            headers=headers,
        )  # fmt: skip
        if rule.status_code != 201:
            raise SystemExit(f"rule: {rule.status_code} {rule.text[:300]}")
        # The member's own email of each incident (on by default) is turned off: no mail
        # server here, and the figures are the webhook's.
        preferences = await client.put(
            f"{API}/notifications/preferences",
            json={"events": {"incident.opened": {"in_app": True, "email": False}}},
            headers=headers,
        )
        if preferences.status_code != 200:
            raise SystemExit(f"preferences: {preferences.status_code} {preferences.text[:300]}")

        # Warm-up: connections opened, caches filled; not counted.
        worker = await wait_for_worker(api_pid)
        warm = await create_incidents(client, headers, WARMUP_INCIDENTS, 1, "warm-up")
        await settle(client, receiver, set(warm.created_at), 60, data_dir, nudge=True)

        print(f"incidents: {count} in the burst, from {clients} concurrent clients")
        print(f"receiver fails {arguments.fail_rate:.0%} of requests with 503")
        if kill_every:
            print(
                f"the worker is SIGKILLed {kill_every:g} s after each start, from the burst's"
                " start until every incident of the burst was delivered once"
            )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load()}\n")

        # 1. The burst (with kills)
        clock_offset = time.time() - time.monotonic()  # the database's UTC times -> arrivals
        kills: list[float] = []
        stop_killing = asyncio.Event()
        killer = None
        if kill_every:
            log = data_dir / "server.log"
            killer = asyncio.create_task(kill_workers(log, kill_every, stop_killing, kills))
        cpu_before = {"api": cpu_seconds(api_pid), "worker": cpu_seconds(worker)}
        processes = {"api": api_pid} | ({} if kill_every else {"worker": worker})
        with profiled(arguments.profile, processes, "burst", data_dir):
            burst = await create_incidents(client, headers, count, clients, "burst")
            wanted = set(burst.created_at)
            # Kills go on until every incident of the burst has been delivered once.
            waited, nudged = await settle(
                client, receiver, wanted, arguments.settle, data_dir, arguments.fail_rate > 0,
                on_delivered=stop_killing.set,
            )  # fmt: skip
        stop_killing.set()
        if killer is not None:
            await killer
        cpu_after = {"api": cpu_seconds(api_pid), "worker": cpu_seconds(worker)}
        created_seconds = burst.ended - burst.began
        latencies = [
            receiver.delivered_at[incident] - created
            for incident, created in burst.created_at.items()
            if incident in receiver.delivered_at
        ]
        arrived = [receiver.delivered_at[i] for i in wanted if i in receiver.delivered_at]
        rows += [
            ("incidents created (POST /incidents)", f"{count} in {created_seconds:.1f} s"
             f" = {count / created_seconds:.0f}/s; request p50 / p99 "
             f"{statistics.median(burst.request_seconds) * 1000:.0f} / "
             f"{quantile(burst.request_seconds, 0.99) * 1000:.0f} ms"),
            ("201 -> webhook 204, p50 / p90 / p99 / max", spread(latencies)),
            ("dispatcher rounds recording the burst", f"{(found := rounds(data_dir, wanted))}"
             f" ({len(wanted) / max(1, found):.1f} deliveries per round on average)"),
        ]  # fmt: skip
        if len(arrived) > 1:
            span = max(arrived) - min(arrived)
            rows.append(
                ("deliveries per second, burst", f"{len(arrived) / span:.0f}/s"
                 f" ({len(arrived)} in {span:.1f} s, first to last arrival)")
            )  # fmt: skip
        if not kill_every and arrived:
            rows.append(("a round's time: sending / recording + next claim", round_phases(
                data_dir, wanted, receiver, clock_offset)))  # fmt: skip
        if not kill_every:
            burst_seconds = max(arrived) - burst.began if arrived else created_seconds
            rows += [
                ("CPU over the burst: API / worker",
                 f"{cpu_after['api'] - cpu_before['api']:.1f} / "
                 f"{cpu_after['worker'] - cpu_before['worker']:.1f} s of {burst_seconds:.1f} s"),
            ]  # fmt: skip

        # 2. The backlog: the dispatcher's own rate
        backlog: Burst | None = None
        if not kill_every and not arguments.no_backlog:
            os.kill(worker, signal.SIGSTOP)
            try:
                backlog = await create_incidents(client, headers, count, clients, "backlog")
                await asyncio.sleep(1.0)  # every commit's wake-up sent
                cpu_before = {"worker": cpu_seconds(worker), "api": cpu_seconds(api_pid)}
            finally:
                os.kill(worker, signal.SIGCONT)
            resumed = time.monotonic()
            backlog_wanted = set(backlog.created_at)
            with profiled(arguments.profile, {"worker": worker}, "drain", data_dir):
                more_wait, more_nudged = await settle(
                    client, receiver, backlog_wanted, arguments.settle, data_dir,
                    arguments.fail_rate > 0,
                )  # fmt: skip
            nudged += more_nudged
            waited += more_wait
            drained = [
                receiver.delivered_at[i] for i in backlog_wanted if i in receiver.delivered_at
            ]
            if drained:
                drain_seconds = max(drained) - resumed
                worker_cpu = cpu_seconds(worker) - cpu_before["worker"]
                rows += [
                    ("deliveries per second, backlog drain",
                     f"{len(drained) / drain_seconds:.0f}/s ({len(drained)} in "
                     f"{drain_seconds:.1f} s from SIGCONT to the last arrival;"
                     f" all recorded after {more_wait:.1f} s)"),
                    ("worker CPU per 1,000 deliveries (drain)",
                     f"{1000 * worker_cpu / len(drained):.2f} s"
                     f" ({100 * worker_cpu / more_wait:.0f} % of one core until recorded)"),
                ]  # fmt: skip
            wanted |= backlog_wanted

        # 3. The checks
        await receiver.refresh(client)
        return report(arguments, data_dir, receiver, wanted, kills, burst, waited, nudged, rows)


def round_phases(data_dir: Path, wanted: set[int], receiver: Receiver, offset: float) -> str:
    """Each round's sending (its first 204 to its `attempted_at`, when its record begins)
    and its recording plus the next round's claim (to the next round's first 204); means."""
    first_204: dict[str, float] = {}
    for arrival in receiver.arrivals:
        if arrival.status == 204:
            first_204.setdefault(arrival.webhook_id, arrival.at)
    starts = []
    for attempted_at, webhook_ids in sorted(round_starts(data_dir, wanted).items()):
        sent = [first_204[each] for each in webhook_ids if each in first_204]
        if sent:
            starts.append((min(sent), attempted_at.timestamp() - offset))
    sending = [recorded - sent for sent, recorded in starts]
    recording = [after[0] - before[1] for before, after in pairwise(starts)]
    if not recording:
        return "-"
    return (
        f"{statistics.mean(sending) * 1000:.0f} / {statistics.mean(recording) * 1000:.0f} ms"
        f" on average over {len(starts)} rounds"
    )


def report(
    arguments: argparse.Namespace,
    data_dir: Path,
    receiver: Receiver,
    wanted: set[int],
    kills: list[float],
    burst: Burst,
    waited: float,
    nudged: int,
    rows: list[tuple[str, str]],
) -> int:
    ours = [a for a in receiver.arrivals if a.incident_id in wanted]
    accepted = Counter(a.webhook_id for a in ours if a.status == 204)
    ids_per_incident: dict[int, set[str]] = defaultdict(set)
    for arrival in ours:
        assert arrival.incident_id is not None
        ids_per_incident[arrival.incident_id].add(arrival.webhook_id)
    lost = sorted(wanted - receiver.delivered_at.keys())
    duplicates = {webhook_id: n for webhook_id, n in accepted.items() if n > 1}
    two_deliveries = sum(1 for ids in ids_per_incident.values() if len(ids) > 1)
    # A duplicate is explained by a kill shortly before its first 204 (the receiver may
    # handle a request after its sender died) or between its first two.
    at_a_kill = 0
    cutting: set[float] = set()  # the kills that explain them
    details = []
    for webhook_id in duplicates:
        times = sorted(a.at for a in ours if a.webhook_id == webhook_id and a.status == 204)
        near = [k for k in kills if times[0] - KILL_SLACK <= k <= times[1]]
        kill = min(near, key=lambda k: abs(k - times[0]), default=None)
        at_a_kill += kill is not None
        cutting |= {kill} if kill is not None else set()
        killed = f"a kill {1000 * (kill - times[0]):+.0f} ms from it, " if kill else ""
        claims, outcomes = attempts_of(data_dir, webhook_id)
        details.append(
            f"  {webhook_id}: 204, {killed}204 again {times[1] - times[0]:.1f} s later;"
            f" claimed {claims} times, {outcomes} outcomes recorded"
        )
    errors = [
        line
        for line in (data_dir / "server.log").read_text(errors="replace").splitlines()
        if " ERROR " in line and "ended with status -9" not in line
    ]
    statuses, doubled, claimed, recorded = delivery_rows(data_dir)
    failed_503 = sum(1 for a in ours if a.status == 503)

    if kills:
        gaps = [b - a for a, b in pairwise([burst.began, *kills])]
        rows.append(
            ("worker SIGKILLs (burst until all delivered)",
             f"{len(kills)} (first after {gaps[0]:.1f} s, then every "
             f"{statistics.mean(gaps[1:]) if gaps[1:] else 0:.1f} s on average)")
        )  # fmt: skip
    rows += [
        ("requests received / 503 answered", f"{len(ours)} / {failed_503}"),
        ("settle (waiting for the last deliveries)", f"{waited:.1f} s"
         + (f", {nudged} retries made due by SQL" if nudged else "")),
        ("LOST (never delivered)", f"{len(lost)} of {len(wanted)}"),
        ("duplicates (a webhook-id accepted twice)",
         f"{sum(duplicates.values()) - len(duplicates)} over {len(duplicates)} deliveries;"
         f" {at_a_kill} of them at a kill (1 s before the first 204 to the second),"
         f" {len(cutting)} kill(s) in all"),
        ("incidents told under two webhook-ids", f"{two_deliveries}"),
        ("incidents with two delivery rows", f"{doubled}"),
        ("bad signatures", f"{sum(1 for a in ours if not a.signature_ok)}"),
        ("errors logged (besides the killed workers)", f"{len(errors)}"),
        ("delivery rows by status", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))),
        ("attempts claimed / recorded / received",
         f"{claimed} / {recorded} / {len(receiver.arrivals)}"
         " (whole run, warm-up included)"),
    ]  # fmt: skip
    width = max(len(label) for label, _ in rows)
    print(f"| {'figure':{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label:{width}} | {value} |")
    if details:
        print("\nduplicates (receiver's clock):", *details[:20], sep="\n")
    if errors:
        print("\nerrors logged:", *errors[:10], sep="\n")
    if lost:
        print(f"\nlost incidents: {lost[:20]}{' ...' if len(lost) > 20 else ''}")
    return 1 if lost or two_deliveries or doubled else 0


def load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000, help="incidents in the burst")
    parser.add_argument("--clients", type=int, default=4, help="concurrent API clients")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of 503 answers")
    parser.add_argument(
        "--kill-every", type=float, default=0.0, help="SIGKILL the worker S s after each start"
    )
    parser.add_argument(
        "--settle", type=float, default=180.0, help="longest wait for the last deliveries"
    )
    parser.add_argument("--no-backlog", action="store_true", help="skip the backlog drain")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--profile",
        metavar="PY_SPY",
        help="path of py-spy: sample the API and worker processes during the burst and the"
        " worker during the drain, print their top functions (files kept with --keep)",
    )
    arguments = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="upmetr-notif-"))
    try:
        seed(data_dir)
        code = asyncio.run(run(arguments, data_dir))
    finally:
        if arguments.keep:
            print(f"data directory kept: {data_dir}")
        else:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
