"""The console over SSH (issue 22's measure).

Starts the installed `upmetr serve` and `upmetr ssh-serve` on 127.0.0.1, one member with a
registered key, and measures with asyncssh as the client:

1. First paint: from opening the SSH connection to the dashboard's tiles on the client's
   screen, 5 runs one after another (goal: 1.5 s or less).
2. Memory per session: with N consoles open (20 by default), the resident memory of each
   console process, and what ssh-serve itself grew by, per session (goal: 80 MB or less).
3. Event to screen with the N sessions open at once: incidents opened through the API one
   after another; for each, the time from the API's answer to its title on each of the N
   screens (p50 / p99 over every screen and incident; goal p99: under 500 ms), beside the
   time to the same event on a bare SSE client of /api/v1/events (the server's share).

    pip install .
    python benchmarks/ssh_console.py [--sessions 20] [--incidents 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api_vs_peer import cpu_seconds  # noqa: E402

from tests.e2e.ssh_console import (  # noqa: E402
    Screen,
    SshServe,
    connect,
    console_pids,
    member,
    rss_kib,
)
from tests.e2e.upmetr_server import ServerProcess  # noqa: E402

DASHBOARD = ("incidents:", "monitors:", "unresolved")


async def first_paint(port: int, key: object) -> float:
    started = time.monotonic()
    async with await connect(port, key) as connection:  # type: ignore[arg-type]
        process = await connection.create_process(
            term_type="xterm-256color", term_size=(160, 48), encoding=None
        )
        screen = Screen(process)
        await screen.wait_for(*DASHBOARD)
        painted = time.monotonic() - started
        screen.type(":q\r")
        await screen.closed()
    return painted


async def measure(sessions: int, incidents: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data")
        server.env["UPMETR_SSH_MAX_SESSIONS_PER_USER"] = str(sessions + 5)
        server.start()
        ssh = None
        try:
            person = member(server, "oncall@example.com")
            ssh = SshServe(server)
            paints = [await first_paint(ssh.port, person.key) for _ in range(5)]
            print(
                "first paint over SSH (connect to dashboard), 5 runs: "
                + " / ".join(f"{p:.2f}" for p in paints)
                + f" s (median {statistics.median(paints):.2f} s; goal <= 1.5 s)"
            )
            serve_before = rss_kib(ssh.process.pid)
            async with contextlib.AsyncExitStack() as stack:
                screens = []
                for _ in range(sessions):
                    connection = await stack.enter_async_context(
                        await connect(ssh.port, person.key)
                    )
                    process = await connection.create_process(
                        term_type="xterm-256color", term_size=(160, 48), encoding=None
                    )
                    screens.append(Screen(process))
                await asyncio.gather(*(s.wait_for(*DASHBOARD, timeout=120) for s in screens))
                await asyncio.sleep(3)  # settled: first loads done
                pids = console_pids(server.data_dir)
                rss = [rss_kib(pid) / 1024 for pid in pids]
                grew = (rss_kib(ssh.process.pid) - serve_before) / 1024
                per_session = statistics.mean(rss) + grew / len(pids)
                print(
                    f"memory with {len(pids)} sessions: console RSS mean "
                    f"{statistics.mean(rss):.1f} MB "
                    f"(max {max(rss):.1f}), ssh-serve grew {grew:.1f} MB; "
                    f"per session {per_session:.1f} MB (goal <= 80 MB)"
                )
                delays: list[float] = []
                bare: list[float] = []
                stream = SseText(server.url, person.headers)
                await stream.started.wait()
                cpu_before = sum(cpu_seconds(pid) for pid in pids)
                others = {"ssh-serve": ssh.process.pid, "the API": server.process.pid}
                others_before = {name: cpu_seconds(pid) for name, pid in others.items()}
                for number in range(incidents):
                    title = f"Bench outage {number:03d}"
                    for screen in [*screens, stream]:
                        screen.forget()
                    response = await asyncio.to_thread(
                        person.api,
                        "POST",
                        "/incidents",
                        json={"title": title, "severity": "critical"},
                    )
                    assert response.status_code == 201, response.text
                    arrived = asyncio.gather(*(s.wait_for(title) for s in screens))
                    bare.append(await stream.wait_for(title))
                    delays += await arrived
                    await asyncio.sleep(0.5)
                stream.close()
                cpu = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) / len(pids) / incidents
                others_cpu = ", ".join(
                    f"{name} {(cpu_seconds(pid) - others_before[name]) / incidents * 1000:.0f} ms"
                    for name, pid in others.items()
                )
                print(
                    f"event to screen, {sessions} sessions x {incidents} incidents: "
                    f"{percentiles(delays)} (goal p99 < 500 ms); the same events on a bare "
                    f"SSE client: {percentiles(bare)}; each console's CPU per incident "
                    f"{cpu * 1000:.0f} ms; per incident, {others_cpu}"
                )
                for screen in screens:
                    screen.process.close()
        finally:
            if ssh is not None:
                ssh.stop()
            server.stop()


class SseText:
    """/api/v1/events read as text by a bare client, for the server's share of a delay."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.text = ""
        self.started = asyncio.Event()
        self._task = asyncio.ensure_future(self._read(url, headers))

    async def _read(self, url: str, headers: dict[str, str]) -> None:
        async with (
            httpx.AsyncClient(timeout=None) as client,
            client.stream("GET", f"{url}/api/v1/events", headers=headers) as response,
        ):
            self.started.set()
            async for chunk in response.aiter_text():
                self.text += chunk

    def forget(self) -> None:
        self.text = ""

    async def wait_for(self, word: str, timeout: float = 30.0) -> float:
        started = time.monotonic()
        while word not in self.text:
            assert time.monotonic() - started < timeout, f"never saw {word} in the stream"
            await asyncio.sleep(0.005)
        return time.monotonic() - started

    def close(self) -> None:
        self._task.cancel()


def percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {ordered[-1] * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--incidents", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(measure(args.sessions, args.incidents))


if __name__ == "__main__":
    main()
