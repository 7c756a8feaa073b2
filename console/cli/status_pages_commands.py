"""`upmetr status-pages`: the organization's global status page (show, set,
regenerate-token, generate-history), its client pages (`clients list|add|show|update|rm`)
and the people subscribed to them (subscribers, remove-subscriber). Announcements are
`upmetr announce`. A page's token is printed once, by the command that makes it."""

from __future__ import annotations

from typing import Any

import click

from console.cli.output import json_option, page_options, print_page, print_result
from console.cli.session import open_client, reports_errors
from console.cli.status_page_format import (
    CLIENT_PAGE,
    also_as,
    client_page_id_of,
    page_columns,
    print_page_fields,
    settings_given,
    settings_options,
    token_lines,
)
from shared.api.status_pages import PageSettings, PageWithToken

_SUBSCRIBER_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda s: s.id),
    ("email", lambda s: s.email),
    ("page", lambda s: s.page),
    ("confirmed", lambda s: s.confirmed_at),
    ("since", lambda s: s.created_at),
]


def _saved(page: PageWithToken, what: str) -> None:
    click.echo(f"{what}: {page.name} ({page.url}).")
    for line in token_lines(page):
        click.echo(line)


@click.group("status-pages")
def status_pages() -> None:
    """Status pages: what the public sees of your monitors."""


@status_pages.command("show")
@json_option
@reports_errors
def status_pages_show(as_json: bool) -> None:
    """The organization's global page: its settings, monitors and address."""
    with open_client() as api:
        page = api.status_pages.get()
    print_result(page, as_json, lambda: print_page_fields(page))


@status_pages.command("set")
@settings_options
@json_option
@reports_errors
def status_pages_set(as_json: bool, **options: Any) -> None:
    """Change the global page's settings; what is not given stays. Turning --require-token
    on prints the page's token, once."""
    changes = settings_given(**options)
    if not changes:
        raise click.UsageError("nothing to change: give a setting (see --help)")
    with open_client() as api:
        # The API replaces the whole page (PUT): what is not given is read first, kept.
        current = api.status_pages.get()
        kept = current.model_dump(include=set(PageSettings.model_fields))
        page = api.status_pages.put(PageSettings.model_validate({**kept, **changes}))
    print_result(page, as_json, lambda: _saved(page, "Global page saved"))


@status_pages.command("regenerate-token")
@click.option("--client", "client_page", type=CLIENT_PAGE, help="A client page (id or slug).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@reports_errors
def status_pages_regenerate_token(client_page: int | str | None, yes: bool, as_json: bool) -> None:
    """A new token for the global page (or a client page); links with the old one stop
    working at once."""
    which = "the global page" if client_page is None else f"client page {client_page}"
    if not yes:
        click.confirm(
            f"Replace {which}'s token? Links with the old one stop working.", abort=True, err=True
        )
    with open_client() as api:
        if client_page is None:
            page = api.status_pages.regenerate_token()
        else:
            page = api.status_pages.clients.regenerate_token(client_page_id_of(api, client_page))
    print_result(page, as_json, lambda: _saved(page, "New token"))


@status_pages.command("generate-history")
@json_option
@reports_errors
def status_pages_generate_history(as_json: bool) -> None:
    """Rebuild the pages' daily history of each monitor from stored hourly figures (for
    monitors added to a page after they had been checked for a while)."""
    with open_client() as api:
        done = api.status_pages.generate_history()
    print_result(
        done,
        as_json,
        lambda: click.echo(
            f"History rebuilt: {done.rebuilt} daily rows for {done.monitors} monitors "
            f"over {done.days} days."
        ),
    )


@status_pages.command("subscribers")
@click.option("--status-page", metavar="SLUG", help='Only "global" or a client page\'s slug.')
@page_options
@json_option
@reports_errors
def status_pages_subscribers(
    status_page: str | None, page: int, per_page: int, as_json: bool
) -> None:
    """Who subscribed to the pages by email and confirmed it (one page's with --status-page)."""
    with open_client() as api:
        result = api.status_pages.subscribers.list(
            status_page=status_page, page=page, per_page=per_page
        )
    print_result(result, as_json, lambda: print_page(result, _SUBSCRIBER_COLUMNS))


@status_pages.command("remove-subscriber")
@click.argument("subscriber_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def status_pages_remove_subscriber(subscriber_id: int, yes: bool) -> None:
    """Remove a subscriber: they hear of the page no more."""
    if not yes:
        click.confirm(f"Remove subscriber {subscriber_id}?", abort=True, err=True)
    with open_client() as api:
        api.status_pages.subscribers.delete(subscriber_id)
    click.echo(f"Subscriber {subscriber_id} removed.")


# -- client pages ------------------------------------------------------------------------


@status_pages.group("clients")
def clients() -> None:
    """Client pages: a page per customer, with monitors of its own."""


@clients.command("list")
@page_options
@json_option
@reports_errors
def clients_list(page: int, per_page: int, as_json: bool) -> None:
    """The client pages with their monitors, tokens and subscribers."""
    with open_client() as api:
        result = api.status_pages.clients.list(page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, page_columns()))


@clients.command("add")
@click.option("--name", required=True, help="The customer's name.")
@click.option("--slug", help="Its address under /status/<org>/ (from the name when left out).")
@settings_options
@json_option
@reports_errors
def clients_add(name: str, slug: str | None, as_json: bool, **options: Any) -> None:
    """Add a client page; with --require-token its token is printed, once."""
    with open_client() as api:
        page = api.status_pages.clients.create(name=name, slug=slug, **settings_given(**options))
    print_result(page, as_json, lambda: _saved(page, f"Client page {page.id} added"))


@clients.command("show")
@click.argument("client_page", metavar="PAGE", type=CLIENT_PAGE)
@json_option
@reports_errors
def clients_show(client_page: int | str, as_json: bool) -> None:
    """One client page (by id or slug): its settings, monitors and address."""
    with open_client() as api:
        page = api.status_pages.clients.get(client_page_id_of(api, client_page))
    print_result(page, as_json, lambda: print_page_fields(page))


@clients.command("update")
@click.argument("client_page", metavar="PAGE", type=CLIENT_PAGE)
@click.option("--name", help="New name.")
@click.option("--slug", help="New slug: the page's address changes.")
@settings_options
@json_option
@reports_errors
def clients_update(
    client_page: int | str, name: str | None, slug: str | None, as_json: bool, **options: Any
) -> None:
    """Change a client page's settings; what is not given stays. A token made by turning
    --require-token on is printed once; `regenerate-token --client PAGE` makes a new one."""
    changes = {
        **{key: value for key, value in (("name", name), ("slug", slug)) if value is not None},
        **settings_given(**options),
    }
    if not changes:
        raise click.UsageError("nothing to change: give a setting (see --help)")
    with open_client() as api:
        page = api.status_pages.clients.update(client_page_id_of(api, client_page), **changes)
    print_result(page, as_json, lambda: _saved(page, f"Client page {page.id} updated"))


@clients.command("rm")
@click.argument("client_page", metavar="PAGE", type=CLIENT_PAGE)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def clients_rm(client_page: int | str, yes: bool) -> None:
    """Delete a client page with its announcements and subscribers."""
    if not yes:
        click.confirm(
            f"Delete client page {client_page} with its announcements and subscribers?",
            abort=True,
            err=True,
        )
    with open_client() as api:
        page_id = client_page_id_of(api, client_page)
        api.status_pages.clients.delete(page_id)
    click.echo(f"Client page {page_id} deleted.")


also_as(clients, clients_update, "edit")
also_as(clients, clients_rm, "delete")
