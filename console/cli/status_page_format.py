"""What `upmetr status-pages` and `upmetr announce` share: a page's settings as options, a
page named by id or slug, how a page and its token are printed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import click

from console.cli.cloud_format import clip
from console.cli.output import options, print_fields
from shared.api.status_pages import GLOBAL_PAGE, AnnouncementState, PageRead, PageWithToken
from shared.client import Client

STATES = click.Choice([state.value for state in AnnouncementState])
# Fields a page's text options clear when given as "" (the others cannot be empty).
CLEARABLE = frozenset({"company_name", "logo_url"})


class PageRef(click.ParamType):
    """A client page by id (digits) or by slug; `client_page_id_of` resolves a slug."""

    name = "ID|SLUG"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        if not text:
            self.fail("a client page's id or slug is needed", param, ctx)
        return int(text) if text.isdigit() else text


CLIENT_PAGE = PageRef()


def client_page_id_of(api: Client, page: int | str) -> int:
    """The id of the client page given by id or by slug."""
    if isinstance(page, int):
        return page
    if page == GLOBAL_PAGE:
        raise click.BadParameter("the global page is not a client page", param_hint="PAGE")
    listed = api.status_pages.clients.list(per_page=200)
    found = [each.id for each in listed.items if each.slug == page]
    if not found:
        raise click.BadParameter(f"no client page has the slug {page!r}", param_hint="PAGE")
    return found[0]


def also_as(group: click.Group, command: click.Command, name: str) -> None:
    """`command` also answers to `name`, unlisted (`delete` for `rm`): the words other tools
    use work without doubling the help."""
    twin = copy.copy(command)
    twin.name, twin.hidden = name, True
    group.add_command(twin, name)


def _switch(on: str, off: str, help: str) -> Callable[[Any], Any]:
    return click.option(f"--{on}/--{off}", default=None, help=help)


# A page's settings (PageSettings), each None when not given.
settings_options = options(
    _switch("enabled", "disabled", "Publish the page, or take it down."),
    click.option("--title", help="The page's heading (System Status)."),
    click.option("--company-name", help='The name shown beside the title ("" removes it).'),
    click.option("--logo-url", help='The company site the heading links to ("" removes it).'),
    click.option("--history-days", type=click.IntRange(7, 365), help="Days of history shown."),
    _switch("response-times", "no-response-times", "Show each monitor's response time."),
    _switch("uptime", "no-uptime", "Show each monitor's uptime."),
    click.option(
        "--monitor", "monitor_ids", type=click.IntRange(min=1), multiple=True, metavar="ID",
        help="A monitor to show, in order (repeatable; replaces the list).",
    ),
    click.option("--no-monitors", is_flag=True, help="Show no monitor."),
    _switch("require-token", "no-require-token", "Readable only with the page's token."),
)  # fmt: skip


def settings_given(
    *, monitor_ids: tuple[int, ...], no_monitors: bool, **fields: Any
) -> dict[str, Any]:
    """The settings options given, by field name: "" clears a text field, and --no-monitors
    empties the list."""
    if monitor_ids and no_monitors:
        raise click.UsageError("--monitor and --no-monitors exclude each other")
    given = {name: value for name, value in fields.items() if value is not None}
    for name in CLEARABLE & given.keys():
        given[name] = given[name] or None
    if monitor_ids or no_monitors:
        given["monitor_ids"] = list(monitor_ids)
    return given


def page_columns() -> list[tuple[str, Any]]:
    return [
        ("id", lambda p: p.id),
        ("name", lambda p: clip(p.name, 24)),
        ("slug", lambda p: p.slug or GLOBAL_PAGE),
        ("enabled", lambda p: p.enabled),
        ("monitors", lambda p: len(p.monitor_ids)),
        ("token", lambda p: p.require_token),
        ("subscribers", lambda p: p.subscribers),
        ("url", lambda p: p.url),
    ]


def print_page_fields(page: PageRead) -> None:
    print_fields(
        [
            ("id", page.id),
            ("name", page.name),
            ("slug", page.slug or f"- ({page.kind} page)"),
            ("enabled", page.enabled),
            ("title", page.title),
            ("company name", page.company_name),
            ("logo", page.logo_url),
            ("history days", page.history_days),
            ("response times", page.show_response_times),
            ("uptime", page.show_uptime),
            ("monitors", ", ".join(map(str, page.monitor_ids)) or None),
            ("token required", page.require_token),
            ("token", page.token_hint),
            ("subscribers", page.subscribers),
            ("url", page.url),
            ("updated", page.updated_at),
        ]
    )


def token_lines(page: PageWithToken) -> list[str]:
    """The page's new token, printed this once, and the link that reads the page with it."""
    if page.token is None:
        return []
    return [
        f"Token (shown once, keep it; it will not be shown again): {page.token}",
        f"Read the page at {page.url}?token={quote(page.token, safe='')}",
    ]
