"""`upmetr incidents list|show|stats|create|ack|resolve|note|bulk` against a real server
subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from shared.client import Client
from tests.console.cli_harness import run


def test_list_shows_incidents_as_a_table_or_json(config_dir: Path, api: Client) -> None:
    incident = api.incidents.create(title="CLI list: checkout slow", severity="warning")
    table = run(config_dir, "incidents", "list", "--status", "open")
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split() == [
        "ID",
        "STATUS",
        "SEVERITY",
        "OPENED",
        "TRIGGER",
        "TARGET",
        "TITLE",
    ]
    assert "CLI list: checkout slow" in table.stdout
    # Times to the minute, as every table shows them (the JSON keeps the exact time).
    row = next(line for line in table.stdout.splitlines() if "checkout slow" in line)
    assert incident.opened_at.strftime("%Y-%m-%d %H:%M") in row
    listed = run(config_dir, "incidents", "list", "--severity", "warning", "--json")
    assert listed.exit_code == 0, listed.output
    page = json.loads(listed.stdout)
    assert incident.id in [item["id"] for item in page["items"]]
    assert {item["severity"] for item in page["items"]} == {"warning"}


def test_show_prints_the_incident_and_its_timeline(config_dir: Path, api: Client) -> None:
    incident = api.incidents.create(title="CLI show", severity="critical", description="db down")
    api.incidents.add_note(incident.id, "failing over")
    shown = run(config_dir, "incidents", "show", str(incident.id))
    assert shown.exit_code == 0, shown.output
    assert "CLI show" in shown.stdout and "failing over" in shown.stdout
    as_json = json.loads(run(config_dir, "incidents", "show", str(incident.id), "--json").stdout)
    assert [event["kind"] for event in as_json["timeline"]] == ["opened", "note"]


def test_create_opens_a_manual_incident_and_refuses_an_empty_title(
    config_dir: Path, api: Client
) -> None:
    opened = run(
        config_dir, "incidents", "create", "CLI create: payments failing",
        "--severity", "critical", "--description", "card errors since 14:02", "--json",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    incident = json.loads(opened.stdout)
    assert (incident["status"], incident["severity"], incident["trigger_type"]) == (
        "open", "critical", "manual",
    )  # fmt: skip
    stored = api.incidents.get(incident["id"])
    assert (stored.title, stored.description) == (
        "CLI create: payments failing", "card errors since 14:02",
    )  # fmt: skip
    plain = run(config_dir, "incidents", "create", "CLI create: default severity")
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.startswith("Incident ") and "(error)" in plain.stdout
    empty = run(config_dir, "incidents", "create", "")
    assert empty.exit_code == 1
    assert empty.stderr.startswith("Error: ") and "title" in empty.stderr
    wrong = run(config_dir, "incidents", "create", "x", "--severity", "huge")
    assert wrong.exit_code == 2 and "huge" in wrong.stderr


def test_ack_resolve_and_note_change_the_incident(config_dir: Path, api: Client) -> None:
    incident = api.incidents.create(title="CLI lifecycle", severity="error")
    acked = run(config_dir, "incidents", "ack", str(incident.id), "--note", "on it", "--json")
    assert acked.exit_code == 0, acked.output
    assert json.loads(acked.stdout)["status"] == "acknowledged"
    noted = run(config_dir, "incidents", "note", str(incident.id), "rolled back v42")
    assert noted.exit_code == 0, noted.output
    resolved = run(config_dir, "incidents", "resolve", str(incident.id))
    assert resolved.exit_code == 0, resolved.output
    assert f"Incident {incident.id} resolved" in resolved.stdout
    timeline = api.incidents.get(incident.id).timeline
    assert [(e.kind.value, e.text) for e in timeline][:3] == [
        ("opened", "CLI lifecycle"),
        ("acknowledged", "on it"),
        ("note", "rolled back v42"),
    ]


def test_acknowledging_twice_prints_the_conflict_and_exits_1(config_dir: Path, api: Client) -> None:
    incident = api.incidents.create(title="CLI conflict", severity="info")
    api.incidents.acknowledge(incident.id)
    again = run(config_dir, "incidents", "ack", str(incident.id))
    assert again.exit_code == 1
    assert again.stderr.startswith("Error: ")
    assert "only an open one" in again.stderr
    missing = run(config_dir, "incidents", "show", "999999")
    assert missing.exit_code == 1
    assert "Incident not found" in missing.stderr


def test_bulk_prints_an_outcome_per_id_and_exits_1_if_any_failed(
    config_dir: Path, api: Client
) -> None:
    first = api.incidents.create(title="CLI bulk 1", severity="warning")
    second = api.incidents.create(title="CLI bulk 2", severity="warning")
    done = run(config_dir, "incidents", "bulk", "resolve", str(first.id), str(second.id), "--json")
    assert done.exit_code == 0, done.output
    assert [(o["id"], o["ok"], o["status"]) for o in json.loads(done.stdout)] == [
        (first.id, True, "resolved"),
        (second.id, True, "resolved"),
    ]
    partly = run(config_dir, "incidents", "bulk", "delete", str(first.id), "999999")
    assert partly.exit_code == 1
    lines = partly.stdout.splitlines()
    assert lines[0].split() == ["ID", "OK", "STATUS", "DETAIL"]
    assert lines[1].split()[:2] == [str(first.id), "yes"]
    assert "Incident not found" in lines[2]


def test_stats_as_json(config_dir: Path, api: Client) -> None:
    api.incidents.create(title="CLI stats", severity="critical")
    result = run(config_dir, "incidents", "stats", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert set(stats) == {
        "open",
        "acknowledged",
        "critical_open",
        "resolved_today",
        "mttr_seconds_7d",
    }
    assert stats["critical_open"] >= 1
