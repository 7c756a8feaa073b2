"""`upmetr announce`: public notes on the status pages, moved through the states of an
incident write-up (investigating, identified, monitoring, resolved): add, list, show,
update and rm. Each update is kept as a step the page shows in order."""

from __future__ import annotations

from typing import Any

import click

from console.cli.cloud_format import clip
from console.cli.output import (
    json_option,
    page_options,
    print_fields,
    print_page,
    print_result,
    print_table,
)
from console.cli.session import open_client, reports_errors
from console.cli.status_page_format import STATES, also_as
from shared.api.status_pages import GLOBAL_PAGE, AnnouncementRead

_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda a: a.id),
    ("page", lambda a: a.page),
    ("state", lambda a: a.state.value),
    ("updated", lambda a: a.updated_at),
    ("title", lambda a: clip(a.title, 48)),
]


def _show(announcement: AnnouncementRead) -> None:
    print_fields(
        [
            ("id", announcement.id),
            ("page", announcement.page),
            ("title", announcement.title),
            ("state", announcement.state.value),
            ("created", announcement.created_at),
            ("resolved", announcement.resolved_at),
        ]
    )
    click.echo()
    print_table(
        announcement.updates,
        [
            ("at", lambda step: step.created_at),
            ("state", lambda step: step.state.value),
            ("note", lambda step: step.body),
        ],
    )


@click.group()
def announce() -> None:
    """Announcements: public notes on the status pages."""


@announce.command("add")
@click.argument("title")
@click.option("--body", required=True, help="What happened, for the public.")
@click.option("--state", type=STATES, help="Where it stands (default investigating).")
@click.option(
    "--page", "--status-page", "page_slug", metavar="SLUG", default=GLOBAL_PAGE,
    show_default=True,
    help='"global" or a client page\'s slug.',
)  # fmt: skip
@json_option
@reports_errors
def announce_add(title: str, body: str, state: str | None, page_slug: str, as_json: bool) -> None:
    """Announce TITLE on a status page: `upmetr announce add "Slow checkouts" --body ...`."""
    with open_client() as api:
        made = api.status_pages.announcements.create(
            title=title, body=body, state=state, page=page_slug
        )
    print_result(
        made,
        as_json,
        lambda: click.echo(f"Announcement {made.id} on {made.page}: {made.state.value}."),
    )


@announce.command("list")
@click.option("--status-page", metavar="SLUG", help='Only "global" or a client page\'s slug.')
@click.option("--state", type=STATES, help="Only announcements in this state.")
@page_options
@json_option
@reports_errors
def announce_list(
    status_page: str | None, state: str | None, page: int, per_page: int, as_json: bool
) -> None:
    """Announcements of every page (one page's with --status-page), newest first."""
    with open_client() as api:
        result = api.status_pages.announcements.list(
            status_page=status_page, state=state, page=page, per_page=per_page
        )
    print_result(result, as_json, lambda: print_page(result, _COLUMNS))


@announce.command("show")
@click.argument("announcement_id", metavar="ID", type=click.IntRange(min=1))
@json_option
@reports_errors
def announce_show(announcement_id: int, as_json: bool) -> None:
    """One announcement with each of its steps, oldest first."""
    with open_client() as api:
        found = api.status_pages.announcements.get(announcement_id)
    print_result(found, as_json, lambda: _show(found))


@announce.command("update")
@click.argument("announcement_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--state", type=STATES, help="Where it stands now.")
@click.option("--body", help="A note on the change.")
@click.option("--title", help="A new title.")
@json_option
@reports_errors
def announce_update(
    announcement_id: int, state: str | None, body: str | None, title: str | None, as_json: bool
) -> None:
    """Move an announcement on (`--state identified`) and/or add a note (`--body`)."""
    if state is None and body is None and title is None:
        raise click.UsageError("nothing to change: give --state, --body or --title")
    with open_client() as api:
        changed = api.status_pages.announcements.update(
            announcement_id, title=title, body=body, state=state
        )
    print_result(
        changed,
        as_json,
        lambda: click.echo(f"Announcement {changed.id} is {changed.state.value}."),
    )


@announce.command("rm")
@click.argument("announcement_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def announce_rm(announcement_id: int, yes: bool) -> None:
    """Delete an announcement: it leaves the page."""
    if not yes:
        click.confirm(f"Delete announcement {announcement_id}?", abort=True, err=True)
    with open_client() as api:
        api.status_pages.announcements.delete(announcement_id)
    click.echo(f"Announcement {announcement_id} deleted.")


also_as(announce, announce_add, "new")
also_as(announce, announce_rm, "delete")
