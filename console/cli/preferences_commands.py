"""`upmetr notifications preferences`: what reaches your inbox and your email, from which
severity on, and your quiet hours (docs/notifications.md)."""

from __future__ import annotations

from operator import itemgetter

import click

from console.cli.output import json_option, print_fields, print_result, print_table
from console.cli.session import open_client, reports_errors
from shared.api.incidents import Severity
from shared.api.notifications import EventType, Preferences

SEVERITIES = click.Choice([severity.value for severity in Severity])
EVENTS = click.Choice([event.value for event in EventType])


def _show(preferences: Preferences) -> None:
    quiet = preferences.quiet_hours
    print_fields(
        [
            ("min severity", preferences.min_severity.value),
            (
                "quiet hours",
                f"{quiet.start}-{quiet.end} {quiet.timezone}"
                + (", critical at once" if quiet.critical_bypass else "")
                if quiet.enabled
                else "off",
            ),
        ]
    )
    click.echo()
    rows = [
        {"event": event.value, "inbox": choice.in_app, "email": choice.email}
        for event, choice in preferences.completed().events.items()
    ]
    print_table(rows, [(key, itemgetter(key)) for key in ("event", "inbox", "email")])


@click.command("preferences")
@click.option("--min-severity", type=SEVERITIES, help="Below it, nothing is told.")
@click.option("--email/--no-email", "email", default=None, help="Email for each --event.")
@click.option("--inbox/--no-inbox", "inbox", default=None, help="The inbox for each --event.")
@click.option("--event", "events", type=EVENTS, multiple=True, help="The event --email sets.")
@click.option("--quiet-hours", metavar="HH:MM-HH:MM", help="Hold email then; 'off' ends them.")
@click.option("--timezone", help="Your IANA time zone for --quiet-hours (Europe/Paris).")
@click.option("--critical-bypass/--no-critical-bypass", default=None)
@json_option
@reports_errors
def preferences(
    min_severity: str | None,
    email: bool | None,
    inbox: bool | None,
    events: tuple[str, ...],
    quiet_hours: str | None,
    timezone: str | None,
    critical_bypass: bool | None,
    as_json: bool,
) -> None:
    """Show your notification preferences, or change the parts given."""
    if (email is not None or inbox is not None) and not events:
        raise click.UsageError("--email and --inbox need one or more --event")
    with open_client() as api:
        current = api.notifications.preferences()
        wanted = _changed(
            current, min_severity, email, inbox, events, quiet_hours, timezone, critical_bypass
        )
        shown = current if wanted == current else api.notifications.set_preferences(wanted)
    print_result(shown, as_json, lambda: _show(shown))


def _changed(
    current: Preferences,
    min_severity: str | None,
    email: bool | None,
    inbox: bool | None,
    events: tuple[str, ...],
    quiet_hours: str | None,
    timezone: str | None,
    critical_bypass: bool | None,
) -> Preferences:
    wanted = current.model_copy(deep=True)
    if min_severity is not None:
        wanted.min_severity = Severity(min_severity)
    for name in events:
        choice = wanted.events[EventType(name)]
        if email is not None:
            choice.email = email
        if inbox is not None:
            choice.in_app = inbox
    quiet = wanted.quiet_hours
    if quiet_hours == "off":
        quiet.enabled = False
    elif quiet_hours is not None:
        start, _, end = quiet_hours.partition("-")
        quiet.enabled, quiet.start, quiet.end = True, start.strip(), end.strip()
    if timezone is not None:
        quiet.timezone = timezone
    if critical_bypass is not None:
        quiet.critical_bypass = critical_bypass
    return wanted
