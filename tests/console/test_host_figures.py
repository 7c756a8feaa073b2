"""The pure parts of the hosts and alert rules views and commands: bars, the fleet line,
rule conditions and the times `--from` takes. Tables of inputs and what they read as."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
import pytest

from console.cli.alert_rules_commands import Moment
from console.cli.metrics_commands import trend
from console.formatting import byte_size
from console.screens.alert_rules import condition_text
from console.screens.hosts import Figures, figures_of, fleet_line
from console.widgets.usage_bar import bar_text
from shared.api.agents import AgentRead
from shared.api.alert_rules import AlertRuleRead
from shared.api.metrics import Series

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pct", "width", "shown"),
    [
        (None, 10, "-"),
        (0.0, 10, "░░░░░   0%"),
        (61.0, 10, "███░░  61%"),
        (100.0, 10, "█████ 100%"),
        (250.0, 10, "█████ 100%"),  # a container over one core: the bar stops at full
        (42.0, 4, " 42%"),  # no room for a bar: the number alone
    ],
)
def test_a_usage_bar_reads_without_colour(pct: float | None, width: int, shown: str) -> None:
    assert bar_text(pct, width).plain == shown


def agent(agent_id: int, status: str) -> AgentRead:
    return AgentRead.model_validate(
        {"id": agent_id, "name": f"host-{agent_id}", "tags": [], "status": status,
         "last_seen_at": None, "hostname": None, "os": None, "agent_version": None,
         "interval_seconds": None, "facts": None, "token_hint": "****ab12",
         "created_at": NOW, "updated_at": NOW}
    )  # fmt: skip


def test_the_fleet_line_counts_states_and_averages_the_online_hosts_figures() -> None:
    hosts = [agent(1, "online"), agent(2, "online"), agent(3, "offline"), agent(4, "pending")]
    figures = {1: Figures(20.0, 40.0, 50.0), 2: Figures(60.0, None, 70.0), 3: Figures(99.0)}
    assert fleet_line(hosts, 4, figures) == (
        "4 hosts: 2 online, 1 offline, 1 pending · avg cpu 40% · mem 40% · disk 60%"
    )
    assert fleet_line([], 0, {}) == "0 hosts"


def test_the_agents_list_gives_each_hosts_bars() -> None:
    agent = AgentRead.model_validate(
        {"id": 1, "name": "a", "tags": [], "status": "online", "last_seen_at": None,
         "hostname": None, "os": None, "agent_version": None, "interval_seconds": None,
         "facts": None, "token_hint": "****ab12", "cpu_pct": 90.0, "mem_pct": 80.0,
         "created_at": NOW, "updated_at": NOW}
    )  # fmt: skip
    assert figures_of(agent) == Figures(90.0, 80.0, None)


def rule(**fields: object) -> AlertRuleRead:
    return AlertRuleRead.model_validate(
        {"id": 1, "name": "r", "trigger_type": "infra_metric", "metric": None,
         "condition": None, "threshold": None, "breach_count": 3, "recovery_count": 2,
         "severity": "error", "cooldown_minutes": 0, "scope": {}, "channel_ids": [],
         "enabled": True, "created_at": NOW, "updated_at": NOW, **fields}
    )  # fmt: skip


def test_a_metric_rules_condition_reads_as_a_comparison() -> None:
    hot = rule(metric="cpu_pct", condition="above", threshold=90.0)
    assert condition_text(hot) == "cpu_pct > 90 x3"
    assert condition_text(rule(metric="disk_pct", condition="below", threshold=5.5)) == (
        "disk_pct < 5.5 x3"
    )
    assert condition_text(rule(trigger_type="agent_offline")) == "-"


@pytest.mark.parametrize(
    ("count", "shown"),
    [(None, "-"), (512, "512 B"), (1536, "1.5 KiB"), (300 * 1024, "300 KiB"),
     (16 * 2**30, "16.0 GiB"), (3 * 2**40, "3.0 TiB")],
)  # fmt: skip
def test_sizes_read_in_binary_units(count: int | None, shown: str) -> None:
    assert byte_size(count) == shown


def test_backtest_times_are_iso_now_or_a_span_ago() -> None:
    moment = Moment()
    assert moment.convert("2026-12-05T10:00:00Z", None, None) == datetime(
        2026, 12, 5, 10, tzinfo=UTC
    )
    assert moment.convert("2026-12-05 10:00", None, None).tzinfo is UTC  # naive is UTC
    ago = moment.convert("24h", None, None)
    assert abs(datetime.now(UTC) - timedelta(hours=24) - ago) < timedelta(seconds=5)
    with pytest.raises(click.BadParameter, match="not ISO 8601"):
        moment.convert("yesterday", None, None)


def test_a_series_trend_covers_the_whole_range_and_keeps_a_spike() -> None:
    points = [
        {"ts": NOW + timedelta(minutes=m), "min": 1.0, "avg": 1.0, "max": 90.0 if m == 7 else 1.0}
        for m in range(60)
    ]
    series = Series.model_validate({"metric": "cpu_pct", "label": None, "points": points})
    drawn = trend(series, width=30)
    assert drawn is not None and len(drawn) == 30
    assert drawn.index("█") == 3  # minute 7 of 60, in blocks of two minutes
    assert trend(Series(metric="cpu_pct", label=None, points=[])) is None
