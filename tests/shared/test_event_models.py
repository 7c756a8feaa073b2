"""Live event models: each type's data as the server sends it, and what a client makes of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.api.events import (
    EVENT_MODELS,
    CostSynced,
    Event,
    EventData,
    IncidentChanged,
    MonitorChecked,
    OtherEvent,
    ResourceStateChanged,
    StreamReset,
    event_types,
    known_events,
    parse_event,
)

INCIDENT = {"id": 7, "title": "api.example.com is down", "severity": "critical", "status": "open"}
MONITOR = {"monitor_id": 3, "name": "search api", "status": "up"}

# (type, data) as the server has always sent them: one row per event type.
TYPICAL: list[tuple[str, dict[str, Any]]] = [
    (
        "monitor.check",
        {
            **MONITOR,
            "result_id": 11,
            "status": "down",
            "monitor_status": "down",
            "checked_at": "2026-01-01T12:00:00.250000+00:00",
            "response_time_ms": None,
            "status_code": None,
            "error": "connection refused",
        },
    ),
    ("monitor.status", {**MONITOR, "status": "down", "previous_status": "up"}),
    ("monitor.created", MONITOR),
    ("monitor.deleted", {**MONITOR, "status": "paused"}),
    ("incident.opened", INCIDENT),
    ("incident.acknowledged", {**INCIDENT, "status": "acknowledged"}),
    ("incident.resolved", {**INCIDENT, "status": "resolved"}),
    ("incident.deleted", INCIDENT),
    ("incident.note", {**INCIDENT, "note": "restarted the pods"}),
    (
        "job.updated",
        {
            "id": 4,
            "kind": "cost_sync",
            "status": "running",
            "account_id": None,
            "progress": {"done": 1, "total": 2, "step": "prod"},
            "result": {},
            "detail": None,
        },
    ),
    (
        "cost.synced",
        {"account_id": 2, "job_id": 4, "rows": 29, "api_calls": 1, "status": "succeeded"},
    ),
    (
        "resource.state",  # from discovery: no action
        {
            "id": 5,
            "account_id": 2,
            "name": "web-1",
            "type": "ec2_instance",
            "state": "stopped",
            "previous_state": "running",
        },
    ),
    (
        "resource.state",  # from an action
        {
            "id": 5,
            "account_id": 2,
            "name": "web-1",
            "type": "ec2_instance",
            "state": "stopping",
            "previous_state": "running",
            "action_id": 9,
        },
    ),
    (
        "resource.action",
        {"id": 9, "resource_id": 5, "action": "stop", "status": "failed", "detail": "denied"},
    ),
    (
        "budget.state",
        {"id": 1, "name": "prod", "state": "exceeded", "previous_state": "ok", "pct_used": 120.5},
    ),
    (
        "notification.created",
        {
            "id": 4,
            "user_id": 2,
            "title": "[CRITICAL] API down",
            "severity": "critical",
            "notification_type": "incident.opened",
        },
    ),
    (
        "agent.status",
        {"agent_id": 3, "name": "web-1", "status": "offline", "previous_status": "online"},
    ),
    (
        "agent.metrics",
        {
            "agent_id": 3,
            "name": "web-1",
            "ts": "2026-12-06T10:00:00+00:00",
            "cpu_pct": 12.5,
            "mem_pct": 40.0,
            "disk_pct": 61.5,
            "load1": 0.42,
        },
    ),
    ("status_page.changed", {"page_id": 2, "page": "acme", "change": "announcement"}),
    ("stream.reset", {"reason": "resume point no longer buffered", "last_event_id": 99}),
]


def typical_id(row: tuple[str, dict[str, Any]]) -> str:
    return row[0]


@pytest.mark.parametrize("row", TYPICAL, ids=typical_id)
def test_every_event_type_validates_against_its_model_and_is_sent_back_unchanged(
    row: tuple[str, dict[str, Any]],
) -> None:
    event_type, data = row
    parsed = known_events().validate_python({**data, "event_type": event_type})
    assert event_type in event_types(type(parsed))
    assert parsed.event_type == event_type
    assert parsed.model_extra == {}  # every field the server sends is declared
    assert parsed.wire() == data  # what a relay (events tail --json) prints
    assert json.loads(parsed.wire_json()) == data
    assert parse_event(event_type, data) == parsed


def test_the_table_covers_every_event_type() -> None:
    declared = {name for model in EVENT_MODELS for name in event_types(model)}
    assert declared == {event_type for event_type, _ in TYPICAL}


def test_event_type_names_the_frame_and_is_not_part_of_its_data() -> None:
    reset = StreamReset(reason="unknown", last_event_id=3)
    assert reset.event_type == "stream.reset"
    assert json.loads(reset.wire_json()) == {"reason": "unknown", "last_event_id": 3}


def test_event_times_keep_their_wire_format() -> None:
    at = datetime(2026, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)
    check = MonitorChecked(
        **MONITOR,
        result_id=1,
        monitor_status="up",
        checked_at=at,
        response_time_ms=12,
        status_code=200,
        error=None,
    )
    assert check.wire()["checked_at"] == "2026-01-01T12:00:00.250000+00:00"


def test_a_client_reads_a_known_event_by_attribute() -> None:
    parsed = parse_event("incident.acknowledged", {**INCIDENT, "status": "acknowledged"})
    assert isinstance(parsed, IncidentChanged)
    assert (parsed.id, parsed.status) == (7, "acknowledged")


def test_an_unknown_event_type_parses_to_the_fallback_with_its_data() -> None:
    parsed = parse_event("monitor.teleported", {"monitor_id": 3, "to": "mars"})
    assert isinstance(parsed, OtherEvent)
    assert parsed.event_type == "monitor.teleported"
    assert parsed.wire() == {"monitor_id": 3, "to": "mars"}


def test_a_known_type_with_data_it_cannot_read_falls_back_instead_of_failing() -> None:
    """A newer server may change a type's data: an older console skips it, never crashes."""
    parsed = parse_event("cost.synced", {"account_id": "all of them"})
    assert isinstance(parsed, OtherEvent)
    assert parsed.wire() == {"account_id": "all of them"}


def test_fields_a_newer_server_adds_are_kept_and_relayed() -> None:
    data = {"account_id": 2, "job_id": None, "rows": 1, "api_calls": 1, "status": "ok", "x": 1}
    parsed = parse_event("cost.synced", data)
    assert isinstance(parsed, CostSynced)
    assert parsed.wire() == data


def test_an_event_dumps_as_id_type_and_its_data() -> None:
    data = {
        "id": 5,
        "account_id": 2,
        "name": "web-1",
        "type": "ec2_instance",
        "state": "stopped",
        "previous_state": "running",
    }
    event = Event.of(12, parse_event("resource.state", data))
    assert isinstance(event.data, ResourceStateChanged) and event.data.action_id is None
    assert json.loads(event.model_dump_json(exclude_unset=True)) == {
        "id": 12,
        "type": "resource.state",
        "data": data,
    }


def test_every_model_of_the_union_is_an_event_data() -> None:
    assert all(issubclass(model, EventData) for model in EVENT_MODELS)
    names = [name for model in EVENT_MODELS for name in event_types(model)]
    assert len(names) == len(set(names))
