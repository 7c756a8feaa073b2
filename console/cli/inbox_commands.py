"""`upmetr notifications` (the caller's inbox) and `upmetr deliveries` (the organization's
delivery log, one row per attempt)."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import click

from console.cli.cloud_format import clip
from console.cli.output import (
    json_option,
    page_options,
    print_page,
    print_result,
    print_table,
)
from console.cli.preferences_commands import preferences
from console.cli.session import open_client, reports_errors
from shared.api.notifications import AttemptRead, DeliveryRead, DeliveryStatus, NotificationRead

DELIVERY_STATUSES = click.Choice([status.value for status in DeliveryStatus])

_INBOX_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda n: n.id),
    ("state", lambda n: "read" if n.read else "unread"),
    ("severity", lambda n: n.severity.value),
    ("at", lambda n: n.created_at),
    ("title", lambda n: n.title),
]


@click.group(invoke_without_command=True)
@click.option("--unread", is_flag=True, help="Only what is not read yet.")
@page_options
@json_option
@click.pass_context
@reports_errors
def notifications(
    ctx: click.Context, unread: bool, page: int, per_page: int, as_json: bool
) -> None:
    """Your inbox, newest first (`read ID`, `read-all`, `rm ID` act on it)."""
    if ctx.invoked_subcommand is not None:
        return
    with open_client() as api:
        result = api.notifications.list(unread=unread or None, page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _INBOX_COLUMNS, numbered=True))


@notifications.command("read")
@click.argument("notification_id", type=int)
@json_option
@reports_errors
def notifications_read(notification_id: int, as_json: bool) -> None:
    """Mark one line read."""
    with open_client() as api:
        line: NotificationRead = api.notifications.read(notification_id)
    print_result(line, as_json, lambda: click.echo(f"Notification {line.id} read: {line.title}"))


@notifications.command("read-all")
@json_option
@reports_errors
def notifications_read_all(as_json: bool) -> None:
    """Mark the whole inbox read."""
    with open_client() as api:
        left = api.notifications.read_all()
    print_result(left, as_json, lambda: click.echo("Every notification is read."))


@notifications.command("rm")
@click.argument("notification_id", type=int)
@reports_errors
def notifications_rm(notification_id: int) -> None:
    """Delete one line of your inbox."""
    with open_client() as api:
        api.notifications.delete(notification_id)
    click.echo(f"Notification {notification_id} deleted.")


def _outcome(attempt: AttemptRead) -> str:
    """`200`, `503 Service Unavailable`, or the error alone (a timeout has no status)."""
    parts = [str(attempt.status_code)] if attempt.status_code is not None else []
    if attempt.error:
        parts.append(attempt.error)
    return " ".join(parts) or ("ok" if attempt.ok else "failed")


def _attempt_rows(deliveries: Sequence[DeliveryRead]) -> list[dict[str, Any]]:
    """One row per attempt, the delivery's columns on its first; a delivery not yet tried
    has one row of its own."""
    rows: list[dict[str, Any]] = []
    for delivery in deliveries:
        head = {
            "id": delivery.id,
            "channel": clip(delivery.channel_name, 20),
            "event": delivery.event_type + (" (escalation)" if delivery.escalation else ""),
            "status": delivery.status.value,
        }
        blank = dict.fromkeys(head, "")
        attempts: list[AttemptRead | None] = [*delivery.attempt_log] or [None]
        for number, attempt in enumerate(attempts, start=1):
            rows.append(
                {
                    **(head if number == 1 else blank),
                    "attempt": number if attempt else None,
                    "at": attempt.attempted_at if attempt else None,
                    "result": clip(_outcome(attempt), 60) if attempt else None,
                }
            )
    return rows


@click.command("deliveries")
@click.option("--channel", "channel_id", type=int, help="Only this channel's deliveries.")
@click.option("--event", help="Only this event type (incident.opened).")
@click.option("--status", type=DELIVERY_STATUSES)
@page_options
@json_option
@reports_errors
def deliveries(
    channel_id: int | None,
    event: str | None,
    status: str | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """The delivery log, newest first: each delivery and each attempt's status code or error."""
    with open_client() as api:
        result = api.notifications.deliveries(
            channel_id=channel_id, event=event, status=status, page=page, per_page=per_page
        )

    def human() -> None:
        keys = ("id", "channel", "event", "status", "attempt", "at", "result")
        print_table(_attempt_rows(result.items), [(key, itemgetter(key)) for key in keys])
        shown = len(result.items)
        if result.total > shown:
            click.echo(f"({shown} of {result.total}; page {result.page}, --page for more)")

    print_result(result, as_json, human)


notifications.add_command(preferences)
