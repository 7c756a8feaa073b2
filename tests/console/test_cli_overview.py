"""`upmetr overview` against a real server subprocess: the counts and what is wrong now."""

from __future__ import annotations

import json
from pathlib import Path

from shared.client import Client
from tests.console.cli_harness import run


def test_overview_prints_the_counts_and_the_unresolved_incidents(
    config_dir: Path, api: Client
) -> None:
    incident = api.incidents.create(title="CLI overview: checkout slow", severity="critical")
    shown = run(config_dir, "overview")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].split()[0] == "monitors"
    incidents = next(line for line in lines if line.startswith("incidents"))
    assert "unresolved" in incidents and "critical" in incidents
    assert any(line.startswith("costs") for line in lines)
    assert "Unresolved, newest first" in lines
    assert any(line.split()[:3] == [str(incident.id), "open", "critical"] for line in lines)

    as_json = run(config_dir, "overview", "--json")
    assert as_json.exit_code == 0, as_json.output
    found = json.loads(as_json.stdout)
    assert incident.id in [item["id"] for item in found["incidents"]["newest"]]
    assert found["monitors"]["latency"] == []  # nothing to draw in a script
    assert found["agents"] == {"total": 0, "online": 0, "offline": 0}


def test_overview_without_a_login_says_how_to_sign_in(tmp_path: Path) -> None:
    result = run(tmp_path / "nobody", "overview")
    assert result.exit_code == 1
    assert "login" in result.output
