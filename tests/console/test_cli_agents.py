"""`upmetr agents`, `upmetr metrics` and the metric parts of `upmetr alert-rules` against a
real server subprocess; the agent's posts are made as the agent program makes them, with
its token, to `/agents/ingest`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.client import Client
from tests.console.cli_harness import run
from tests.e2e.upmetr_server import ServerProcess


@pytest.fixture(autouse=True)
def nothing_left(api: Client) -> None:
    """The server lives for the module: each test starts without the others' agents and rules."""
    for rule in api.alert_rules.list(per_page=200).items:
        api.alert_rules.delete(rule.id)
    for agent in api.agents.list(per_page=200).items:
        api.agents.delete(agent.id)


def sample(ts: datetime, cpu: float) -> dict[str, Any]:
    return {
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "cpu_pct": cpu,
        "mem_pct": 40.0,
        "mem_used": 3 * 2**30,
        "disk": [{"mount": "/", "total_bytes": 100 * 2**30, "used_bytes": 35 * 2**30,
                  "pct": 35.0}],
        "net": {"rx_bps": 2048.0, "tx_bps": 1024.0, "errors_per_min": 0.0},
        "load": [0.5, 0.4, 0.3],
    }  # fmt: skip


def report(server: ServerProcess, token: str, samples: list[dict[str, Any]]) -> None:
    """One post of the agent program: its host, one container, these samples."""
    batch = {
        "hostname": "web-1.example.net",
        "os": "Ubuntu 24.04",
        "agent_version": "1.0.0",
        "interval_seconds": 60,
        "samples": samples,
        "containers": [{"name": "nginx", "image": "nginx:1.27", "state": "running",
                        "cpu_pct": 2.5, "mem_bytes": 50 * 2**20}],
    }  # fmt: skip
    answer = httpx.post(
        f"{server.url}/api/v1/agents/ingest",
        json=batch,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


def test_an_agent_is_added_with_its_token_once_then_listed_changed_and_removed(
    config_dir: Path, api: Client, server: ServerProcess
) -> None:
    added = run(config_dir, "agents", "add", "--name", "web-1", "--tag", "web", "--json")
    assert added.exit_code == 0, added.output
    agent = json.loads(added.stdout)
    token = agent["token"]
    assert agent["status"] == "pending" and agent["token_hint"].endswith(token[-4:])

    told = run(config_dir, "agents", "add", "--name", "db-1")
    assert told.exit_code == 0, told.output
    assert "Token (shown once" in told.stdout and "UPMETR_AGENT_TOKEN=" in told.stdout
    assert f"{server.url}/api/v1/agents/" in told.stdout  # the one-liner fetches the script

    listed = run(config_dir, "agents", "list")
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:4] == ["ID", "NAME", "STATUS", "LAST"]
    assert [row.split()[1] for row in rows] == ["db-1", "web-1"]
    assert token not in listed.stdout

    renamed = run(config_dir, "agents", "update", str(agent["id"]), "--name", "web-01", "--no-tags")
    assert renamed.exit_code == 0, renamed.output
    assert (api.agents.get(agent["id"]).name, api.agents.get(agent["id"]).tags) == ("web-01", [])

    again = run(config_dir, "agents", "regenerate-token", str(agent["id"]), "--yes", "--json")
    assert json.loads(again.stdout)["token"] != token

    gone = run(config_dir, "agents", "rm", str(agent["id"]), "--yes")
    assert gone.exit_code == 0 and [a.name for a in api.agents.list().items] == ["db-1"]


def test_install_script_prints_the_servers_script_without_the_token(
    config_dir: Path, api: Client
) -> None:
    agent = api.agents.create(name="web-1")
    script = run(config_dir, "agents", "install-script", str(agent.id))
    assert script.exit_code == 0, script.output
    assert script.stdout.startswith("#!") and agent.token not in script.stdout


def test_metrics_show_what_an_agent_reported_by_its_name(
    config_dir: Path, api: Client, server: ServerProcess
) -> None:
    agent = api.agents.create(name="web-1")
    now = datetime.now(UTC).replace(microsecond=0)
    report(
        server, agent.token, [sample(now - timedelta(minutes=3 - k), 20.0 + k) for k in range(4)]
    )

    show = run(config_dir, "agents", "show", "web-1")  # by its name
    assert "web-1.example.net" in show.stdout and "online" in show.stdout

    latest = json.loads(run(config_dir, "metrics", "latest", "web-1", "--json").stdout)
    assert latest["sample"]["cpu_pct"] == 23.0
    series = run(config_dir, "metrics", "show", "web-1", "--metrics", "cpu_pct,load1")
    assert series.exit_code == 0, series.output
    lines = series.stdout.splitlines()
    assert lines[0].startswith(f"Agent {agent.id}, last 1h")
    cpu = next(line for line in lines if line.startswith("cpu_pct"))
    assert cpu.split()[1:5] == ["23.0%", "20.0%", "21.5%", "23.0%"]  # last, min, avg, max

    containers = run(config_dir, "metrics", "containers", str(agent.id))
    assert "nginx" in containers.stdout and "running" in containers.stdout
    one = run(config_dir, "metrics", "container", "web-1", "nginx", "--json")
    assert json.loads(one.stdout)["name"] == "nginx"
    summary = json.loads(run(config_dir, "metrics", "summary", "--json").stdout)
    assert (summary["total"], summary["online"]) == (1, 1)

    unknown = run(config_dir, "metrics", "latest", "no-such-host")
    assert unknown.exit_code == 2 and "no agent is named 'no-such-host'" in unknown.output


def test_a_metric_rule_is_added_overridden_and_backtested(
    config_dir: Path, api: Client, server: ServerProcess
) -> None:
    agent = api.agents.create(name="web-1")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    # Hot for five minutes an hour and a half ago, then calm.
    cpu = [95.0 if 30 <= minute < 35 else 10.0 for minute in range(60)]
    report(
        server, agent.token, [sample(start + timedelta(minutes=m), v) for m, v in enumerate(cpu)]
    )

    added = run(
        config_dir, "alert-rules", "add", "--name", "cpu hot", "--trigger", "infra_metric",
        "--metric", "cpu_pct", "--condition", "above", "--threshold", "90",
        "--breach-count", "2", "--recovery-count", "2", "--agent", "web-1", "--severity", "error",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    (rule,) = api.alert_rules.list().items
    assert (rule.metric, rule.threshold, rule.scope.agent_ids) == ("cpu_pct", 90.0, [agent.id])
    listed = run(config_dir, "alert-rules", "list")
    assert "cpu_pct above 90 x2" in listed.stdout and f"agent:{agent.id}" in listed.stdout

    tested = run(config_dir, "alert-rules", "backtest", str(rule.id), "--from", "3h")
    assert tested.exit_code == 0, tested.output
    assert "1 incident would have opened" in tested.stdout
    assert "web-1" in tested.stdout and "95" in tested.stdout

    raised = run(config_dir, "alert-rules", "override", str(rule.id), "web-1", "--threshold", "99")
    assert raised.exit_code == 0, raised.output
    overrides = json.loads(
        run(config_dir, "alert-rules", "overrides", str(rule.id), "--json").stdout
    )
    assert [(o["agent_name"], o["threshold"]) for o in overrides] == [("web-1", 99.0)]
    quiet = run(config_dir, "alert-rules", "backtest", str(rule.id), "--from", "3h", "--json")
    assert json.loads(quiet.stdout)["incidents"] == []

    removed = run(config_dir, "alert-rules", "override-rm", str(rule.id), str(agent.id))
    assert removed.exit_code == 0 and api.alert_rules.overrides(rule.id) == []
    nothing = run(config_dir, "alert-rules", "override", str(rule.id), "web-1")
    assert nothing.exit_code == 2 and "give --threshold, --disable or both" in nothing.output
