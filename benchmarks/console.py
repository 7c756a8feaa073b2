"""The console at scale: first paint, event-to-screen latency, idle CPU and idle requests.

1. A child process seeds a fresh data directory (seeding.py): one organization, a user and
   N monitors (default 10,000) with 30 days of rollups; 20 incidents are opened through the
   API once the server is up.
2. The server runs in another child (engines off: only the API and the event bus), with a
   trigger: asked through a pipe, it publishes a burst of `monitor.check` events at once,
   each stamped with the wall clock when published, or tells the API requests it answered
   (counted as each response starts, so an event stream counts when it opens).
3. First paint: `upmetr console` (the installed command) in a pseudo-terminal (160x48, then 80x24),
   signed in with the saved login, from spawn to the first frame showing the dashboard's
   monitor total; 5 runs, each a second after the previous console has exited.
4. Idle CPU: that process left alone for --idle seconds once the dashboard has settled.
   Idle requests: another console, counted by the server from spawn until it is live and
   settled (its start), then over --idle-minutes left alone (the API allows a user 60 a
   minute; the console is meant to spend at most 5 of them while idle).
5. Event-to-screen: the console in this process (headless, 160x48) on the dashboard, then on
   the monitors view; a burst of --burst events (default 1,000); an event's latency runs
   from its publish stamp to the end of the first screen refresh after the console applied
   it (App.call_after_refresh). The same burst read by a bare client (no console) tells the
   server's and the stream's share.

    python benchmarks/console.py [--monitors 10000] [--burst 1000] [--idle 20]
                                 [--idle-minutes 2.5]

Side by side: `--against REV` times first paint only, of the working tree's console and of
the console at git revision REV (its `console/` and `shared/`, extracted and put first on
PYTHONPATH; the same Python, Textual and server), in interleaved rounds at each size:

    python benchmarks/console.py --against HEAD~1 [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import fcntl
import multiprocessing
import os
import pty
import re
import select
import shutil
import statistics
import struct
import subprocess
import sysconfig
import tempfile
import termios
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from seeding import ARGON2, EMAIL, PASSWORD, free_port, seed, wait_for_port

# The command users run, as pip installed it beside this Python.
UPMETR = str(Path(sysconfig.get_path("scripts")) / "upmetr")
ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
SIZE = (160, 48)  # where events and idle requests are measured
PAINT_SIZES = ((160, 48), (80, 24))  # first paint is timed at each
FIRST_PAINT_RUNS = 5


# The server, in a process of its own, with a trigger for event bursts


def serve(data_dir: str, port: int, trigger: Connection) -> None:
    from aiohttp import web

    from server.app import build_app
    from server.config import Settings
    from server.context import EVENTS
    from shared.api.events import MonitorChecked

    settings = Settings(
        data_dir=Path(data_dir),
        port=port,
        engines=False,
        default_plan="enterprise",
        rate_limit_user="100000000/minute",
        rate_limit_anon="100000000/minute",
        **ARGON2,  # type: ignore[arg-type]
    )
    app = build_app(settings)
    answered: list[str] = []

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        if request.path.startswith("/api/v1/"):
            answered.append(f"{request.method} {request.path} {response.status}")

    app.on_response_prepare.append(count)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        loop = asyncio.get_running_loop()
        while True:
            kind, asked = await loop.run_in_executor(None, trigger.recv)
            if kind == "requests":
                trigger.send(list(answered))
                continue
            org_id, monitors = asked
            for index in range(len(monitors)):
                monitor_id, name = monitors[index]
                event = MonitorChecked(**check_event(monitor_id, name, index))
                app[EVENTS].publish(org_id, event)
            trigger.send(len(monitors))

    asyncio.run(main())


def sent_at(event: Any) -> float | None:
    """The publish stamp a benchmark event carries as an extra field of its data."""
    stamp = (event.data.model_extra or {}).get("sent_at")
    return float(stamp) if stamp is not None else None


def check_event(monitor_id: int, name: str, index: int) -> dict[str, Any]:
    return {
        "monitor_id": monitor_id,
        "name": name,
        "result_id": 10_000_000 + index,
        "status": "up",
        "monitor_status": "up",
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "response_time_ms": 20 + index % 50,
        "status_code": 200,
        "error": None,
        "sent_at": time.time(),
    }


# First paint and idle CPU, in a real pseudo-terminal


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Terminal:
    """`upmetr console` in a pseudo-terminal; its output is read (and thrown away) all along,
    so the console never blocks on a full terminal."""

    def __init__(self, env: dict[str, str], size: tuple[int, int] = SIZE) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [UPMETR, "console"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.screen = b""
        self.seen: dict[bytes, float] = {}
        self.cpu: dict[bytes, float] = {}  # the console's CPU seconds when each was seen
        self._stop = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            now = time.perf_counter()
            self.screen = (self.screen + ANSI.sub(b"", chunk))[-200_000:]
            for marker in list(self.seen):
                if self.seen[marker] == 0.0 and marker in self.screen:
                    self.seen[marker] = now
                    self.cpu[marker] = cpu_seconds(self.process.pid)

    def wait_for(self, marker: bytes, timeout: float = 60.0) -> float:
        """Seconds from spawn until `marker` was first on screen."""
        self.seen.setdefault(marker, 0.0)
        deadline = time.perf_counter() + timeout
        while self.seen[marker] == 0.0:
            if time.perf_counter() > deadline:
                raise SystemExit(f"the console never showed {marker!r}")
            time.sleep(0.01)
        return self.seen[marker] - self.started

    def quit(self) -> None:
        os.write(self.master, b"\x03")  # ctrl+c
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._stop = True
        self._reader.join()
        os.close(self.master)


def first_paint(
    env: dict[str, str],
    monitors: int,
    idle: float,
    size: tuple[int, int] = SIZE,
    settle: float = 3.0,
) -> tuple[list[float], float]:
    """FIRST_PAINT_RUNS starts at `size`; idle CPU is read in the first (when `idle`)."""
    marker = f"monitors: {monitors}".encode()
    paints = []
    idle_share = 0.0
    env = {**env, "COLUMNS": str(size[0]), "LINES": str(size[1])}
    for run in range(FIRST_PAINT_RUNS):
        terminal = Terminal(env, size)
        paints.append(terminal.wait_for(marker))
        if run == 0 and idle:
            terminal.wait_for(b"live")
            time.sleep(settle)  # let the first loads finish
            before, started = cpu_seconds(terminal.process.pid), time.perf_counter()
            time.sleep(idle)
            used = cpu_seconds(terminal.process.pid) - before
            idle_share = used / (time.perf_counter() - started)
        terminal.quit()
        time.sleep(1.0)  # the previous console's teardown is not the next one's start
    return paints, idle_share


def checkout(revision: str, into: Path) -> Path:
    """The console and the models it shares at `revision`, in a directory of their own."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "archive", revision, "console", "shared"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    compileall.compile_dir(into, quiet=1)  # not on its first start only
    return into


def side_by_side(
    env: dict[str, str], monitors: int, other: Path, rounds: int
) -> dict[tuple[int, int], dict[str, list[float]]]:
    """First paint of this tree's console and of `other`'s, one start of each a round, the
    order swapped every round so that neither always starts second."""
    marker = f"monitors: {monitors}".encode()
    variants = {
        "this tree": env,
        "against": {
            **env,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(other), env.get("PYTHONPATH")])),
        },
    }
    figures: dict[tuple[int, int], dict[str, list[float]]] = {}
    for size in PAINT_SIZES:
        sized = {
            name: {**variant, "COLUMNS": str(size[0]), "LINES": str(size[1])}
            for name, variant in variants.items()
        }
        paints: dict[str, list[float]] = {
            kind: [] for name in variants for kind in (name, f"{name} cpu")
        }
        for round_ in range(rounds):
            order = list(sized) if round_ % 2 == 0 else list(reversed(sized))
            for name in order:
                terminal = Terminal(sized[name], size)
                paints[name].append(terminal.wait_for(marker))
                paints[f"{name} cpu"].append(terminal.cpu[marker])
                terminal.quit()
                time.sleep(1.0)
        figures[size] = paints
    return figures


def print_side_by_side(
    revision: str, figures: dict[tuple[int, int], dict[str, list[float]]]
) -> None:
    """Wall time from spawn to first paint, and the console's CPU seconds by then (less moved
    by what else the machine runs)."""
    for (columns, lines), paints in figures.items():
        print(f"first paint at {columns}x{lines}, {len(paints['this tree'])} rounds interleaved:")
        for kind, what in (("", "wall"), (" cpu", "CPU")):
            medians = [statistics.median(paints[name + kind]) for name in ("this tree", "against")]
            for label, name in (("this tree", "this tree"), (revision, "against")):
                times = paints[name + kind]
                print(
                    f"  {label}, {what}: "
                    + ", ".join(f"{paint:.2f}" for paint in times)
                    + f" s (median {statistics.median(times):.3f} s)"
                )
            print(
                f"  {what}, this tree - {revision}: {(medians[0] - medians[1]) * 1000:+.0f} ms"
                f" (ratio {medians[0] / medians[1]:.2f})"
            )


def answered(trigger: Connection) -> list[str]:
    """The API requests the server has answered so far: `GET /api/v1/overview 200`."""
    trigger.send(("requests", None))
    found: list[str] = trigger.recv()
    return found


def idle_requests(
    env: dict[str, str], trigger: Connection, minutes: float
) -> tuple[list[str], list[str]]:
    """The requests of one console's start (spawn until live and settled), then of
    `minutes` left alone on the dashboard."""
    before = len(answered(trigger))
    terminal = Terminal(env)
    terminal.wait_for(b"live")
    time.sleep(5)  # the first loads and anything they start
    start = answered(trigger)[before:]
    time.sleep(minutes * 60)
    idle = answered(trigger)[before + len(start) :]
    terminal.quit()
    return start, idle


# Event-to-screen, with the console in this process


async def event_to_screen(
    url: str, tokens: dict[str, str], trigger: Connection, org_id: int, burst: list[Any]
) -> dict[str, list[float]]:
    from console.app import UpmetrApp
    from console.config import Credentials
    from console.widgets.resource_table import ResourceTable

    figures: dict[str, list[float]] = {}
    for view in ("dashboard", "monitors"):
        credentials = Credentials(url, tokens["access_token"], tokens["refresh_token"], EMAIL)
        app = UpmetrApp(url, credentials=credentials, remember=False, start_view=view)
        latencies: list[float] = []

        def measured(event: Any, app: UpmetrApp = app, latencies: list[float] = latencies) -> None:
            deliver = UpmetrApp.deliver
            deliver(app, event)
            sent = sent_at(event)
            if sent is not None:
                app.call_after_refresh(lambda: latencies.append(time.time() - sent))

        app.deliver = measured  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            while app.connection != "live" or not app.screen.query(ResourceTable):
                await pilot.pause(0.05)
            if view == "monitors":
                while app.screen.query_one(ResourceTable).row_count < 100:
                    await pilot.pause(0.05)
            await pilot.pause(1.0)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, trigger.send, ("burst", (org_id, burst)))
            await loop.run_in_executor(None, trigger.recv)
            deadline = time.monotonic() + 60
            while len(latencies) < len(burst) and time.monotonic() < deadline:
                await pilot.pause(0.05)
        figures[view] = latencies
    return figures


async def stream_only(
    url: str, tokens: dict[str, str], trigger: Connection, org_id: int, burst: list[Any]
) -> list[float]:
    """The same burst read by a bare client: what the server and the stream take, no console."""
    from shared.client import AsyncClient

    latencies: list[float] = []
    connected = asyncio.Event()
    async with AsyncClient(url, access_token=tokens["access_token"]) as api:

        async def read() -> None:
            stream = api.events.stream(on_connection=lambda up: connected.set() if up else None)
            async for event in stream:
                latencies.append(time.time() - (sent_at(event) or 0.0))
                if len(latencies) == len(burst):
                    return

        reading = asyncio.create_task(read())
        await connected.wait()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, trigger.send, ("burst", (org_id, burst)))
        await loop.run_in_executor(None, trigger.recv)
        await asyncio.wait_for(reading, 60)
    return latencies


# What the dashboard (one overview) and the monitors view read when they open.
OPENING_READS = (
    "/auth/me",
    "/overview?latency_monitors=6&latency_points=60",
    "/monitors?per_page=6",
    "/monitors?per_page=100",
    "/monitors?status=up&per_page=1",
    "/monitors?status=down&per_page=200",
    "/incidents?status=open&per_page=200",
    "/monitors/1/checks?per_page=60",
)


def read_latencies(http: httpx.Client, headers: dict[str, str]) -> dict[str, float]:
    """Median of 5 of each read, one at a time."""
    medians = {}
    for path in OPENING_READS:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            http.get(path, headers=headers).raise_for_status()
            times.append(time.perf_counter() - started)
        medians[path] = statistics.median(times)
    return medians


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def milliseconds(values: list[float]) -> str:
    return (
        f"p50 {quantile(values, 0.5) * 1000:.0f} ms, p99 {quantile(values, 0.99) * 1000:.0f} ms,"
        f" max {max(values) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds between the dashboard going live and the idle CPU reading (over 60: "
        "the incidents' ages no longer change every second)",
    )
    parser.add_argument("--idle-minutes", type=float, default=2.5)
    parser.add_argument(
        "--against",
        metavar="REV",
        help="time first paint only, side by side with the console at this git revision",
    )
    parser.add_argument("--rounds", type=int, default=FIRST_PAINT_RUNS, help="with --against")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        data_dir, config_dir = Path(scratch) / "data", Path(scratch) / "config"
        data_dir.mkdir()
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pool.apply(seed, (str(data_dir), "http://127.0.0.1:9/", arguments.monitors, 60, False))
        print(f"seeded {arguments.monitors} monitors in {time.perf_counter() - started:.0f} s")

        port = free_port()
        ours, theirs = multiprocessing.Pipe()
        server = multiprocessing.get_context("spawn").Process(
            target=serve, args=(str(data_dir), port, theirs), daemon=True
        )
        server.start()
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=f"{url}/api/v1") as http:
            tokens = http.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            org_id = http.get("/auth/me", headers=headers).json()["organization"]["id"]
            for n in range(20):
                severity = ("critical", "error", "warning", "info")[n % 4]
                body = {"title": f"bench incident {n}", "severity": severity}
                http.post("/incidents", json=body, headers=headers).raise_for_status()
            page = http.get("/monitors", params={"per_page": 100}, headers=headers).json()
            reads = read_latencies(http, headers)
        loaded = [(item["id"], item["name"]) for item in page["items"]]
        burst = [loaded[index % len(loaded)] for index in range(arguments.burst)]

        os.environ["UPMETR_CONFIG_DIR"] = str(config_dir)
        from console.config import Credentials, save_credentials

        save_credentials(Credentials(url, tokens["access_token"], tokens["refresh_token"], EMAIL))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(SIZE[0])}
        if arguments.against:
            other = checkout(arguments.against, Path(scratch) / "against")
            compared = side_by_side(env, arguments.monitors, other, arguments.rounds)
            server.terminate()
            shutil.rmtree(other)
            print_side_by_side(arguments.against, compared)
            return
        paints, idle_share = first_paint(
            env, arguments.monitors, arguments.idle, settle=arguments.settle
        )
        small_paints, _ = first_paint(env, arguments.monitors, 0.0, PAINT_SIZES[1])
        start, idle = idle_requests(env, ours, arguments.idle_minutes)
        figures = {"stream only": asyncio.run(stream_only(url, tokens, ours, org_id, burst))}
        figures |= asyncio.run(event_to_screen(url, tokens, ours, org_id, burst))
        server.terminate()

    print(f"\nconsole at {SIZE[0]}x{SIZE[1]}, {arguments.monitors} monitors, 20 incidents")
    for (columns, lines), times in zip(PAINT_SIZES, (paints, small_paints), strict=True):
        print(
            f"first paint at {columns}x{lines} (spawn to dashboard with its monitor total): "
            + ", ".join(f"{paint:.2f} s" for paint in times)
            + f" (median {statistics.median(times):.2f} s)"
        )
    for path, seconds in reads.items():
        print(f"  GET {path}: {seconds * 1000:.0f} ms")
    print(
        f"idle CPU on the dashboard over {arguments.idle:.0f} s, {arguments.settle:g} s after it"
        f" went live: {idle_share * 100:.2f} %"
    )
    print(f"requests of a console's start (until live and settled): {len(start)}")
    for request in start:
        print(f"  {request}")
    minutes = arguments.idle_minutes
    print(
        f"requests of an idle console over {minutes:g} min: {len(idle)}"
        f" ({len(idle) / minutes:.1f} a minute; the API allows 60)"
    )
    for request in idle:
        print(f"  {request}")
    for view, latencies in figures.items():
        print(
            f"event to screen, {view}, burst of {arguments.burst}: "
            f"{len(latencies)} applied; {milliseconds(latencies)}"
        )


if __name__ == "__main__":
    main()
