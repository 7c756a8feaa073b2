"""`upmetr incidents`: list, show, open by hand, acknowledge, resolve, annotate and act on
many at once."""

from __future__ import annotations

import sys
from typing import Any, cast

import click

from console.cli.output import (
    json_option,
    page_options,
    print_fields,
    print_page,
    print_result,
    print_table,
)
from console.cli.session import open_client, reports_errors
from shared.api.incidents import (
    BulkActionName,
    IncidentRead,
    IncidentStatus,
    Severity,
    TriggerType,
)

STATUSES = click.Choice([status.value for status in IncidentStatus])
SEVERITIES = click.Choice([severity.value for severity in Severity])
TRIGGERS = click.Choice([trigger.value for trigger in TriggerType])
BULK_ACTIONS = click.Choice(["acknowledge", "resolve", "delete"])


def _target(incident: IncidentRead) -> str | None:
    if incident.target_type is None:
        return None
    return f"{incident.target_type} {incident.target_id}"


_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda i: i.id),
    ("status", lambda i: i.status.value),
    ("severity", lambda i: i.severity.value),
    ("opened", lambda i: i.opened_at),
    ("trigger", lambda i: i.trigger_type.value),
    ("target", _target),
    ("title", lambda i: i.title),
]


def _print_incident(incident: IncidentRead) -> None:
    print_fields(
        [
            ("id", incident.id),
            ("title", incident.title),
            ("status", incident.status.value),
            ("severity", incident.severity.value),
            ("trigger", incident.trigger_type.value),
            ("target", _target(incident)),
            ("opened", incident.opened_at),
            ("acknowledged", incident.acknowledged_at),
            ("resolved", incident.resolved_at),
            ("automatic", incident.resolved_automatically),
            ("duration (s)", incident.duration_seconds),
            ("description", incident.description),
        ]
    )


@click.group()
def incidents() -> None:
    """Incidents: what is wrong now, and what was."""


@incidents.command("list")
@click.option("--status", type=STATUSES, help="Only incidents in this state.")
@click.option("--severity", type=SEVERITIES, help="Only incidents of this severity.")
@click.option("--trigger-type", type=TRIGGERS, help="Only incidents of this trigger.")
@click.option("--monitor-id", type=click.IntRange(min=1), help="Only this monitor's incidents.")
@click.option("--search", "q", help="Text in the title.")
@click.option("--sort", default=None, help="opened_at, severity, status, title... (-field: desc)")
@page_options
@json_option
@reports_errors
def incidents_list(
    status: str | None,
    severity: str | None,
    trigger_type: str | None,
    monitor_id: int | None,
    q: str | None,
    sort: str | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """Incidents, newest first."""
    with open_client() as api:
        result = api.incidents.list(
            status=status,
            severity=severity,
            trigger_type=trigger_type,
            monitor_id=monitor_id,
            q=q,
            sort=sort,
            page=page,
            per_page=per_page,
        )
    print_result(result, as_json, lambda: print_page(result, _COLUMNS, numbered=True))


@incidents.command("show")
@click.argument("incident_id", type=int)
@json_option
@reports_errors
def incidents_show(incident_id: int, as_json: bool) -> None:
    """One incident and its timeline."""
    with open_client() as api:
        incident = api.incidents.get(incident_id)

    def human() -> None:
        _print_incident(incident)
        click.echo()
        print_table(
            incident.timeline,
            [
                ("at", lambda e: e.created_at),
                ("event", lambda e: e.kind.value),
                ("by", lambda e: e.actor),
                ("text", lambda e: e.text),
            ],
        )

    print_result(incident, as_json, human)


@incidents.command("stats")
@json_option
@reports_errors
def incidents_stats(as_json: bool) -> None:
    """Open, acknowledged and critical counts; mean time to resolve over 7 days."""
    with open_client() as api:
        stats = api.incidents.stats()
    print_result(stats, as_json, lambda: print_fields(list(stats.model_dump().items())))


@incidents.command("create")
@click.argument("title")
@click.option("--severity", type=SEVERITIES, default="error", show_default=True)
@click.option("--description", help="What is known so far.")
@json_option
@reports_errors
def incidents_create(title: str, severity: str, description: str | None, as_json: bool) -> None:
    """Open a manual incident (notified as any other: rules, channels, escalation)."""
    with open_client() as api:
        incident = api.incidents.create(title=title, severity=severity, description=description)
    print_result(
        incident,
        as_json,
        lambda: click.echo(f"Incident {incident.id} opened ({incident.severity.value}): {title}"),
    )


@incidents.command("ack")
@click.argument("incident_id", type=int)
@click.option("--note", help="Why, or what you are doing about it (added to the timeline).")
@json_option
@reports_errors
def incidents_ack(incident_id: int, note: str | None, as_json: bool) -> None:
    """Acknowledge an open incident."""
    with open_client() as api:
        incident = api.incidents.acknowledge(incident_id, note)
    print_result(
        incident,
        as_json,
        lambda: click.echo(f"Incident {incident.id} acknowledged: {incident.title}"),
    )


@incidents.command("resolve")
@click.argument("incident_id", type=int)
@click.option("--note", help="What fixed it (added to the timeline).")
@json_option
@reports_errors
def incidents_resolve(incident_id: int, note: str | None, as_json: bool) -> None:
    """Resolve an open or acknowledged incident."""
    with open_client() as api:
        incident = api.incidents.resolve(incident_id, note)
    print_result(
        incident,
        as_json,
        lambda: click.echo(f"Incident {incident.id} resolved after {incident.duration_seconds} s."),
    )


@incidents.command("note")
@click.argument("incident_id", type=int)
@click.argument("text")
@json_option
@reports_errors
def incidents_note(incident_id: int, text: str, as_json: bool) -> None:
    """Add a note to an incident's timeline."""
    with open_client() as api:
        event = api.incidents.add_note(incident_id, text)
    print_result(event, as_json, lambda: click.echo(f"Note added to incident {incident_id}."))


@incidents.command("bulk")
@click.argument("action", type=BULK_ACTIONS)
@click.argument("incident_ids", type=int, nargs=-1, required=True)
@click.option("--note", help="Added to each timeline (acknowledge, resolve).")
@json_option
@reports_errors
def incidents_bulk(
    action: str, incident_ids: tuple[int, ...], note: str | None, as_json: bool
) -> None:
    """Acknowledge, resolve or delete several incidents: one outcome per id.

    Exits with status 1 when any id failed, so scripts notice.
    """
    with open_client() as api:
        outcomes = api.incidents.bulk(incident_ids, cast(BulkActionName, action), note)
    print_result(
        outcomes,
        as_json,
        lambda: print_table(
            outcomes,
            [
                ("id", lambda o: o.id),
                ("ok", lambda o: o.ok),
                ("status", lambda o: o.status.value if o.status else None),
                ("detail", lambda o: o.detail),
            ],
        ),
    )
    if not all(outcome.ok for outcome in outcomes):
        sys.exit(1)
