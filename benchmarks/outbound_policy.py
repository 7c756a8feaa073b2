"""What the outbound-target policy costs an HTTP check, side by side with the connector before.

A child process serves the target (so its CPU is not counted). In this process, rounds
alternate between two aiohttp sessions, each making --requests GETs, --concurrency at once,
with a new connection per request as checks make them:

- before: aiohttp's TCPConnector with its default resolver (the loop's getaddrinfo) and the
  certificate-noting `connect` the Checker's connector had before the policy;
- policy: the Checker's own session (HttpClients), whose connector checks each host
  written as an address and whose PolicyResolver filters what a name resolves to.

Each is run against the target by address (127.0.0.1) and by name (localhost, resolved
each time), under a policy that allows exactly 127.0.0.1/32 (the allow-list path: every
rule is evaluated). Printed: this process's CPU (user+system, all threads, so getaddrinfo's
executor too) per 1,000 requests, per round and the median, and the policy/before ratio.
Then the cost of one policy decision alone.

    python benchmarks/outbound_policy.py [--requests 2000] [--concurrency 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import timeit
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from check_engine import running_target  # noqa: E402

from server.providers.checks.http import HttpClients  # noqa: E402
from server.providers.checks.tls import peer_certificate_expiry  # noqa: E402
from server.providers.outbound import TargetBlocked, TargetPolicy, parse_literal  # noqa: E402

POLICY = TargetPolicy(allowed_networks=(ip_network("127.0.0.1/32"),))
_CERTIFICATES: ContextVar[list[Any] | None] = ContextVar("certificates", default=None)


class Before(aiohttp.TCPConnector):
    """The Checker's connector as it was before the policy (server/providers/checks/http.py)."""

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        connection = await super().connect(req, traces, timeout)
        seen = _CERTIFICATES.get()
        transport = connection.transport
        if seen is not None and transport is not None:
            seen.append(peer_certificate_expiry(transport.get_extra_info("ssl_object")))
        return connection


def decide(host: str) -> None:
    """One decision as a connection meets it: remembered after the first."""
    with contextlib.suppress(TargetBlocked):
        POLICY.check_literal(host)


async def load(session: aiohttp.ClientSession, url: str, requests: int, concurrency: int) -> None:
    remaining = iter(range(requests))

    async def worker() -> None:
        for _ in remaining:
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200, response.status

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def cpu_per_thousand(run: Callable[[], Awaitable[None]], requests: int) -> float:
    started = time.process_time()
    await run()
    return (time.process_time() - started) * 1000 / requests * 1000  # ms per 1,000


async def main(arguments: argparse.Namespace) -> None:
    with running_target() as port:
        before = aiohttp.ClientSession(
            connector=Before(limit=500, force_close=True, use_dns_cache=False),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        clients = HttpClients(max_connections=500)
        sessions = {"before": before, "policy": clients.session(POLICY)}
        n, c = arguments.requests, arguments.concurrency
        figures: dict[tuple[str, str], list[float]] = {}
        print(f"{n} requests per round, {c} at once, {arguments.rounds} interleaved rounds")
        print(f"python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}")
        for host in ("127.0.0.1", "localhost"):
            url = f"http://{host}:{port}/"
            for session in sessions.values():  # warm-up
                await load(session, url, 200, c)
            for _ in range(arguments.rounds):
                for name, session in sessions.items():
                    figure = await cpu_per_thousand(lambda s=session, u=url: load(s, u, n, c), n)
                    figures.setdefault((host, name), []).append(figure)
        print()
        print("| target | before: ms CPU / 1,000 | policy: ms CPU / 1,000 | policy / before |")
        print("|---|---|---|---|")
        for host in ("127.0.0.1", "localhost"):
            before_ms = statistics.median(figures[(host, "before")])
            policy_ms = statistics.median(figures[(host, "policy")])
            rounds = " / ".join(
                f"{b:.0f}:{p:.0f}"
                for b, p in zip(figures[(host, "before")], figures[(host, "policy")], strict=True)
            )
            print(
                f"| {host} | {before_ms:.0f} | {policy_ms:.0f} | {policy_ms / before_ms:.3f} "
                f"(rounds before:policy {rounds}) |"
            )
        await before.close()
        await clients.aclose()
    loops = 100_000
    for text in ("127.0.0.1", "::ffff:10.0.0.5", "93.184.215.14"):
        address = ip_address(text)
        seconds = timeit.timeit(lambda a=address: POLICY.refusal(a), number=loops)
        remembered = timeit.timeit(lambda t=text: decide(t), number=loops)
        print(
            f"{text}: one decision {seconds / loops * 1e6:.2f} µs, "
            f"remembered {remembered / loops * 1e6:.2f} µs"
        )
    seconds = timeit.timeit(lambda: parse_literal("example.com"), number=loops)
    print(f"parse_literal on a name: {seconds / loops * 1e6:.2f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
