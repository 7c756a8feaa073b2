"""The agent's footprint: `upmetr-agent run` as a subprocess for N minutes at a 10 s interval,
posting to a stand-in ingest endpoint on 127.0.0.1 (answers 202) and reading 20 containers
from a stand-in Docker Engine API on a unix socket (tests/agent/standins.py).

The agent runs as on a host: from its own wheel (server/agents/install.py) in a fresh venv
with only its dependencies, unless --venv names one that has `upmetr-agent` already. With
--tls the stand-in answers over HTTPS (a self-signed certificate the agent is told to trust),
as a production server does: TLS costs the agent the ssl module and a CA store.

Samples the agent's RSS every 2 s (psutil) and its CPU time (user + system) at the end, and
prints RSS max/avg, CPU as a % of one core (over the whole run, and from the first post on,
without start-up), and the posts made; then the goals (RSS <= 25 MB, CPU <= 0.2 %) and what
Beszel's agent claims (5-25 MB, ~0.05 %).

    python benchmarks/agent_footprint.py [--minutes 10] [--interval 10] [--containers 20]
        [--tls] [--venv PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from tests.agent.standins import (  # noqa: E402
    Ingest,
    engine_with,
    running_engine,
    running_ingest,
    self_signed,
)

RSS_GOAL_MB = 25.0
CPU_GOAL_PCT = 0.2
BESZEL = "Beszel's agent (Go) claims 5-25 MB of RSS and ~0.05 % CPU"


def host_venv(scratch: str) -> Path:
    """A venv holding the agent's wheel and its dependencies only, as the install script
    makes on a host."""
    from server.agents.install import agent_wheel

    name, data = agent_wheel()
    wheel = Path(scratch) / name
    wheel.write_bytes(data)
    root = Path(scratch) / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    subprocess.run(
        [str(root / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    return root


async def measure(
    minutes: float, interval: int, containers: int, tls: bool, venv: Path | None
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        program = (venv or host_venv(scratch)) / "bin" / "upmetr-agent"
        socket_path = os.path.join(scratch, "docker.sock")
        engine = engine_with(containers)
        tls_env: dict[str, str] = {}
        context = None
        if tls:
            context, cert_path = self_signed(scratch)
            tls_env["SSL_CERT_FILE"] = cert_path
        async with (
            running_ingest(Ingest(), ssl_context=context) as ingest,
            running_engine(engine, socket_path),
        ):
            env = {
                **os.environ,
                **tls_env,
                "UPMETR_AGENT_SERVER": ingest.url,
                "UPMETR_AGENT_TOKEN": "benchmark-token",
                "UPMETR_AGENT_INTERVAL": str(interval),
                "UPMETR_AGENT_STATE_DIR": os.path.join(scratch, "state"),
                "UPMETR_AGENT_DOCKER_SOCKET": socket_path,
            }
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                str(program), "run", env=env, stderr=asyncio.subprocess.PIPE
            )
            agent = psutil.Process(process.pid)
            rss: list[int] = []
            steady_cpu_from: float | None = None
            steady_from = 0.0
            deadline = started + minutes * 60
            while time.monotonic() < deadline and process.returncode is None:
                await asyncio.sleep(2)
                try:
                    rss.append(agent.memory_info().rss)
                    if steady_cpu_from is None and ingest.posts:
                        times = agent.cpu_times()
                        steady_cpu_from, steady_from = times.user + times.system, time.monotonic()
                except psutil.NoSuchProcess:
                    break
            try:
                times = agent.cpu_times()
            except psutil.NoSuchProcess:
                sys.exit("the agent ended early")
            ended = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _, err = await process.communicate()
            if process.returncode != 0:
                print(err.decode(), file=sys.stderr)

    cpu_total = times.user + times.system
    wall = ended - started
    steady_pct = (
        (cpu_total - steady_cpu_from) / (ended - steady_from) * 100
        if steady_cpu_from is not None
        else float("nan")
    )
    last = ingest.posts[-1].batch if ingest.posts else {"containers": []}
    rss_max, rss_avg = max(rss) / 1e6, statistics.fmean(rss) / 1e6
    scheme = "HTTPS" if tls else "HTTP"
    print(f"agent footprint over {wall / 60:.1f} min at a {interval} s interval, over {scheme}")
    print(f"  containers per post      {len(last['containers'])}")
    print(f"  posts made               {len(ingest.posts)} (exit status {process.returncode})")
    print(f"  RSS max / avg            {rss_max:.1f} / {rss_avg:.1f} MB")
    print(f"  CPU time                 {cpu_total:.2f} s")
    print(f"  CPU, whole run           {cpu_total / wall * 100:.3f} % of one core")
    print(f"  CPU, after start-up      {steady_pct:.3f} % of one core")
    print(f"goals: RSS <= {RSS_GOAL_MB:.0f} MB ({'met' if rss_max <= RSS_GOAL_MB else 'MISSED'}),")
    print(f"       CPU <= {CPU_GOAL_PCT} % ({'met' if steady_pct <= CPU_GOAL_PCT else 'MISSED'})")
    print(f"compare: {BESZEL}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--containers", type=int, default=20)
    parser.add_argument("--tls", action="store_true", help="post over HTTPS")
    parser.add_argument("--venv", type=Path, help="a venv with upmetr-agent installed")
    args = parser.parse_args()
    asyncio.run(measure(args.minutes, args.interval, args.containers, args.tls, args.venv))


if __name__ == "__main__":
    main()
