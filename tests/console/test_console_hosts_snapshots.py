"""The hosts view, a host's detail and the alert rules view with a backtest, as pictures at
80x24 and 160x48, reached by key presses.

Shares the way of test_console_snapshots.py (a real server on a thread, each picture taken
once every read is done and the status bar says live), over its fixed world plus agents
that report through the API as the agent program does. Their samples are stamped a fixed
number of minutes before ANCHOR, a minute of the real clock; the console's clock is ANCHOR,
and everything these views draw is relative to it or to the newest sample (`ago`, the
charts' `-45m`), so the pictures do not depend on when the suite runs. The server stamps
`last_seen_at` with its own clock, after ANCHOR: every host reads `seen 0s`.

The live posts of the hosts picture go to cache-1 and db-primary only, each run a second
later than the last (a sample already stored is a duplicate, which no event tells), so
that web-1, whose detail and backtest are pictured, stays as the fixture left it whatever
runs before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Sparkline

from console.app import UpmetrApp
from console.local_server import LocalServer
from console.preferences import Preferences
from console.screens.alert_rules import AlertRulesScreen, BacktestScreen
from console.screens.host_detail import HostDetailScreen
from console.screens.hosts import HostRow, HostsScreen
from console.widgets.metric_chart import MetricChart
from shared.client import Client
from tests.console.console_harness import LARGE, SMALL
from tests.console.snapshot_world import SHOWN_URL, SnapshotWorld, prepare, server_settings
from tests.console.test_console_snapshots import (
    INCIDENTS_SHOWN,
    Compare,
    driven,
    live,
    on_screen,
    shows,
)

sizes = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
# Minutes of history before ANCHOR, one sample a minute: fewer than 60, so that the last
# hour's chart, which the server counts from its own clock (a minute or two after ANCHOR),
# holds every sample however many seconds later the picture is taken.
MINUTES = 55


@dataclass
class Hosts:
    url: str
    world: SnapshotWorld
    anchor: datetime
    tokens: dict[str, str]  # agent name: its token
    posts: int = 0  # live posts made so far: each is stamped a second after the last


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sample(ts: datetime, cpu: float, mem: float, disks: dict[str, float]) -> dict[str, Any]:
    return {
        "ts": stamp(ts),
        "cpu_pct": cpu,
        "mem_pct": mem,
        "mem_used": int(mem / 100 * 16 * 2**30),
        "disk": [{"mount": mount, "total_bytes": 100 * 2**30,
                  "used_bytes": int(pct * 2**30), "pct": pct} for mount, pct in disks.items()],
        "net": {"rx_bps": 1.5 * 2**20 if cpu > 50 else 50 * 1024.0, "tx_bps": 300 * 1024.0},
        "load": [round(cpu / 25, 2), 1.0, 0.8],
    }  # fmt: skip


def cpu_of(name: str, minute: int) -> float:
    """web-1 idles but for a hot spell fifty minutes before ANCHOR; the others are busier."""
    if name == "web-1":
        return 95.0 if 10 <= minute < 16 else 18.0 + (minute % 7) * 2
    return (55.0 if name == "db-primary" else 30.0) + (minute % 10) * 3


def batch(name: str, samples: list[dict[str, Any]], anchor: datetime) -> dict[str, Any]:
    return {
        "hostname": f"{name}.example.net",
        "os": "Ubuntu 24.04.1 LTS",
        "agent_version": "1.0.0",
        "interval_seconds": 60,
        "facts": {"kernel": "6.8.0-45-generic", "arch": "x86_64", "cpu_model": "AMD EPYC 7763",
                  "cpu_count": 8, "mem_total": 16 * 2**30,
                  "boot_time": stamp(anchor - timedelta(days=12))},
        "samples": samples,
        "containers": [
            {"name": "nginx", "image": "nginx:1.27", "state": "running", "cpu_pct": 2.5,
             "mem_bytes": 52 * 2**20, "mem_pct": 0.3},
            {"name": "api", "image": "ghcr.io/acme/api:2026.12.1", "state": "running",
             "cpu_pct": 112.0, "mem_bytes": 900 * 2**20, "mem_limit": 2**31, "mem_pct": 44.0},
            {"name": "migrate", "image": "ghcr.io/acme/api:2026.12.1", "state": "exited"},
        ] if name == "web-1" else [],
    }  # fmt: skip


def ingest(url: str, token: str, body: dict[str, Any]) -> None:
    answer = httpx.post(
        f"{url}/api/v1/agents/ingest",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


@pytest.fixture(scope="module")
def hosts(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    data_dir = tmp_path_factory.mktemp("hosts-snapshots") / "data"
    world = prepare(template_db, data_dir)
    anchor = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    with LocalServer(server_settings(data_dir)) as server:
        tokens: dict[str, str] = {}
        with Client(server.url, access_token=world.alice.access_token) as api:
            names = (("cache-1", ["cache"]), ("db-primary", ["db"]), ("new-host", []),
                     ("web-1", ["web"]))  # fmt: skip
            for name, tags in names:
                tokens[name] = api.agents.create(name=name, tags=tags).token
            api.alert_rules.create(
                name="cpu hot", trigger_type="infra_metric", metric="cpu_pct",
                condition="above", threshold=90, breach_count=3, severity="error",
            )  # fmt: skip
            api.alert_rules.create(name="hosts offline", trigger_type="agent_offline",
                                   severity="warning", enabled=False)  # fmt: skip
        reporting = (("web-1", {"/": 35.0, "/data": 12.0}), ("db-primary", {"/": 81.0}),
                     ("cache-1", {"/": 58.0}))  # fmt: skip
        for name, disks in reporting:
            samples = [
                sample(anchor - timedelta(minutes=MINUTES - minute), cpu_of(name, minute),
                       60.0 + minute / 10 if name == "web-1" else 77.0, disks)
                for minute in range(1, MINUTES + 1)
            ]  # fmt: skip
            ingest(server.url, tokens[name], batch(name, samples, anchor))
        yield Hosts(server.url, world, anchor, tokens)


def console(hosts: Hosts, view: str) -> UpmetrApp:
    """The console as alice at ANCHOR, tokens in memory only, default look."""
    return UpmetrApp(
        hosts.url,
        credentials=hosts.world.alice,
        credentials_url=SHOWN_URL,
        preferences=Preferences(),
        clock=lambda: hosts.anchor,
        remember=False,
        start_view=view,
    )


def hosts_shown(pilot: Pilot[None]) -> bool:
    rows = list(pilot.app.screen.query(HostRow).results(HostRow))
    return len(rows) == 4 and all(row.agent.status.value != "online" or row.figures.cpu_pct
                                  is not None for row in rows)  # fmt: skip


def sparks_drawn(count: int) -> Any:
    def ready(pilot: Pilot[None]) -> bool:
        sparks = pilot.app.screen.query(Sparkline).results(Sparkline)
        return sum(len(spark.data or []) for spark in sparks) == count

    return ready


@sizes
def test_0_opens_the_hosts_with_bars_and_sparklines_from_live_posts(
    snap_compare: Compare, hosts: Hosts, size: tuple[int, int]
) -> None:
    opened = on_screen(HostsScreen, live, hosts_shown)

    async def posts(pilot: Pilot[None]) -> None:
        """Three posts of each live host, after ANCHOR: events the view draws."""
        for step in range(3):
            hosts.posts += 1
            moment = hosts.anchor + timedelta(seconds=hosts.posts)
            for name, cpu, mem, disk in (("cache-1", 20 + 30 * step, 45.0, 58.0),
                                         ("db-primary", 88 - 5 * step, 79.0, 81.0)):  # fmt: skip
                body = batch(name, [sample(moment, cpu, mem, {"/": disk})], hosts.anchor)
                async with httpx.AsyncClient() as http:
                    answer = await http.post(
                        f"{hosts.url}/api/v1/agents/ingest", json=body,
                        headers={"Authorization": f"Bearer {hosts.tokens[name]}"},
                    )  # fmt: skip
                assert answer.status_code == 202, answer.text

    async def run(pilot: Pilot[None]) -> None:
        await driven(INCIDENTS_SHOWN, (("0",), opened))(pilot)
        await posts(pilot)
        await driven(((), sparks_drawn(6)))(pilot)

    assert snap_compare(console(hosts, "incidents"), terminal_size=size, run_before=run)


def detail_read(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    if not isinstance(screen, HostDetailScreen) or screen.agent is None:
        return False
    return all(chart.lines for chart in screen.query(MetricChart).results(MetricChart))


@sizes
def test_enter_on_a_host_opens_its_facts_charts_and_containers(
    snap_compare: Compare, hosts: Hosts, size: tuple[int, int]
) -> None:
    opened = on_screen(HostsScreen, live, hosts_shown)
    # The list is by name: cache-1, db-primary, new-host, web-1.
    run = driven(((), opened), (("j", "j", "j", "enter"), detail_read))
    assert snap_compare(console(hosts, "hosts"), terminal_size=size, run_before=run)


def backtested(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    return isinstance(screen, BacktestScreen) and screen.result is not None


@sizes
def test_b_backtests_a_metric_rule_over_the_last_day(
    snap_compare: Compare, hosts: Hosts, size: tuple[int, int]
) -> None:
    rules = on_screen(AlertRulesScreen, live, shows("cpu hot"))
    run = driven(((), rules), (("b",), backtested))
    assert snap_compare(console(hosts, "alerts"), terminal_size=size, run_before=run)
