"""`upmetr alert-rules` against a real server subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.client import Client
from tests.console.cli_harness import run


@pytest.fixture(autouse=True)
def no_alert_rules(api: Client) -> None:
    """The server lives for the module: each test starts without the others' rules."""
    for rule in api.alert_rules.list(per_page=200).items:
        api.alert_rules.delete(rule.id)


def test_a_rule_is_added_listed_switched_and_removed(config_dir: Path, api: Client) -> None:
    monitor = api.monitors.create(name="payments", type="tcp", host="127.0.0.1", port=9)
    added = run(
        config_dir, "alert-rules", "add", "--name", "payments down", "--trigger", "monitor_down",
        "--severity", "error", "--monitor", str(monitor.id), "--tag", "payments",
        "--cooldown", "15",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.stdout.startswith("Alert rule ") and "payments down" in added.stdout
    listed = run(config_dir, "alert-rules", "list")
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:5] == ["ID", "NAME", "ENABLED", "TRIGGER", "SEVERITY"]
    assert f"#{monitor.id},tag:payments" in row and "15 min" in row
    (rule,) = json.loads(run(config_dir, "alert-rules", "list", "--json").stdout)["items"]
    assert (rule["severity"], rule["scope"]["tags"]) == ("error", ["payments"])
    off = run(config_dir, "alert-rules", "disable", str(rule["id"]), "--json")
    assert json.loads(off.stdout)["enabled"] is False
    gone = run(config_dir, "alert-rules", "rm", str(rule["id"]), "--yes")
    assert gone.exit_code == 0 and api.alert_rules.list().total == 0


def test_a_rule_the_server_refuses_says_why_and_exits_1(config_dir: Path) -> None:
    refused = run(
        config_dir, "alert-rules", "add", "--name", "x", "--trigger", "budget_exceeded",
        "--tag", "payments",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "a budget rule covers every budget" in refused.output
