"""The hosts view, the host detail and the alert rules view against the real server: bars
and sparklines that follow an agent's posts live, the detail's ranges, switching a rule
(admins only) and a metric rule's backtest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from textual.pilot import Pilot
from textual.widgets import Sparkline

from console.screens.alert_rules import AlertRulesScreen, BacktestScreen
from console.screens.host_detail import HostDetailScreen
from console.screens.hosts import HostRow, HostsScreen
from console.widgets.metric_chart import MetricChart
from console.widgets.usage_bar import UsageBar
from tests.conftest import Person, World
from tests.console.console_harness import SMALL, console_for, table_text, until


def notified(pilot: Pilot[None]) -> str:
    return "\n".join(str(n.message) for n in pilot.app._notifications)


async def post(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    path: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    response = await client.post(f"/api/v1{path}", json=body, headers=person.headers)
    assert response.status in (200, 201), await response.text()
    return dict(await response.json())


def sample(ts: datetime, cpu: float, mem: float = 40.0, disk: float = 35.0) -> dict[str, Any]:
    return {
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "cpu_pct": cpu,
        "mem_pct": mem,
        "mem_used": 2**30,
        "disk": [{"mount": "/", "total_bytes": 100 * 2**30,
                  "used_bytes": int(disk * 2**30), "pct": disk}],
        "net": {"rx_bps": 2048.0, "tx_bps": 1024.0},
        "load": [0.5, 0.4, 0.3],
    }  # fmt: skip


async def report(
    client: TestClient,  # type: ignore[type-arg]
    token: str,
    samples: list[dict[str, Any]],
) -> None:
    """One post of the agent program, with its token."""
    batch = {"hostname": "web-1.example.net", "os": "Ubuntu 24.04", "agent_version": "1.0.0",
             "interval_seconds": 60, "samples": samples}  # fmt: skip
    response = await client.post(
        "/api/v1/agents/ingest", json=batch, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 202, await response.text()


def row_of(pilot: Pilot[None], name: str) -> HostRow | None:
    rows = pilot.app.screen.query(HostRow).results(HostRow)
    return next((row for row in rows if row.agent.name == name), None)


async def test_the_hosts_view_follows_an_agents_posts_and_enter_opens_its_detail(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    agent = await post(client, world.alice, "/agents", {"name": "web-1"})
    app = console_for(client, world.alice, view="hosts")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: row_of(pilot, "web-1") is not None and app.connection == "live")
        row = row_of(pilot, "web-1")
        assert row is not None and row.agent.status.value == "pending"
        assert row.query_one(".cpu", UsageBar).value is None

        bar = row.query_one(".cpu", UsageBar)
        now = datetime.now(UTC)
        for step, cpu in enumerate((20.0, 60.0, 95.0)):
            await report(client, agent["token"], [sample(now - timedelta(seconds=3 - step), cpu)])
            await until(pilot, lambda: bar.value == cpu)  # noqa: B023 - awaited at once
        assert row.agent.status.value == "online"
        assert list(row.query_one(Sparkline).data or []) == [20.0, 60.0, 95.0]

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HostDetailScreen))
        screen = app.screen
        assert isinstance(screen, HostDetailScreen)
        chart = screen.query_one("#chart-pct", MetricChart)
        await until(pilot, lambda: any(line.points for line in chart.lines))
        assert [line.label for line in chart.lines] == ["cpu", "mem", "/"]
        await pilot.press("d")
        await until(pilot, lambda: chart.span == "24h")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HostsScreen))


async def test_a_viewer_cannot_switch_an_alert_rule_and_an_admin_can(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    rule = await post(
        client,
        world.alice,
        "/alert-rules",
        {"name": "payments down", "trigger_type": "monitor_down"},
    )
    app = console_for(client, world.bob, view="alerts")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "payments down" in table_text(pilot))
        await until(pilot, lambda: app.me is not None)
        await pilot.press("t")
        await pilot.pause(0.2)
        assert "On/off" not in {b.binding.description for b in app.screen.active_bindings.values()}
    response = await client.get(f"/api/v1/alert-rules/{rule['id']}", headers=world.bob.headers)
    assert (await response.json())["enabled"] is True

    app = console_for(client, world.alice, view="alerts")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "payments down" in table_text(pilot))
        await until(pilot, lambda: app.me is not None)
        await pilot.press("t")
        await until(pilot, lambda: "○ off" in table_text(pilot))
        await pilot.press("b")  # a monitor rule: nothing to backtest
        await until(pilot, lambda: "Only metric rules" in notified(pilot))
        assert isinstance(app.screen, AlertRulesScreen)


async def test_b_shows_what_a_metric_rule_would_have_opened_over_the_last_day(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    agent = await post(client, world.alice, "/agents", {"name": "web-1"})
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    cpu = [95.0 if 60 <= minute < 70 else 10.0 for minute in range(120)]
    samples = [sample(start + timedelta(minutes=m), value) for m, value in enumerate(cpu)]
    await report(client, agent["token"], samples)
    await post(
        client, world.alice, "/alert-rules",
        {"name": "cpu hot", "trigger_type": "infra_metric", "metric": "cpu_pct",
         "condition": "above", "threshold": 90, "breach_count": 2, "recovery_count": 2},
    )  # fmt: skip
    app = console_for(client, world.bob, view="alerts")  # a viewer may look back
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "cpu hot" in table_text(pilot))
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BacktestScreen))
        dialog = app.screen
        assert isinstance(dialog, BacktestScreen)
        await until(pilot, lambda: dialog.result is not None)
        assert dialog.result is not None
        assert [(i.agent_id, i.peak_value) for i in dialog.result.incidents] == [
            (agent["id"], 95.0)
        ]
        assert "web-1" in table_text(pilot)
        await pilot.press("h")  # the last hour: calm
        await until(pilot, lambda: dialog.span == "1h" and dialog.result is not None
                    and not dialog.result.incidents)  # fmt: skip
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AlertRulesScreen))


async def test_a_filter_keeps_the_hosts_it_matches_and_enter_opens_one_of_them(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    for name in ("api-1", "db-1", "db-2"):
        await post(client, world.alice, "/agents", {"name": name})
    app = console_for(client, world.bob, view="hosts")  # a viewer reads hosts too
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: row_of(pilot, "db-2") is not None)
        await pilot.press("slash", *"db", "enter")
        shown = [
            row.agent.name for row in app.screen.query(HostRow).results(HostRow) if row.display
        ]
        assert shown == ["db-1", "db-2"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HostDetailScreen))
        screen = app.screen
        assert isinstance(screen, HostDetailScreen)
        await until(pilot, lambda: screen.agent is not None)
        assert screen.agent is not None and screen.agent.name == "db-1"
