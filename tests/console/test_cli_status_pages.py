"""`upmetr status-pages` and `upmetr announce` against a real server subprocess; what the
public reads is checked through the client's public calls, without signing in."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from shared.api.status_pages import PageSettings
from shared.client import Client, ClientError
from tests.console.cli_harness import run
from tests.e2e.upmetr_server import ServerProcess


@pytest.fixture(autouse=True)
def nothing_left(api: Client) -> None:
    """The server lives for the module: each test starts with the global page as it was made,
    without the others' client pages, announcements and monitors."""
    for note in api.status_pages.announcements.list(per_page=200).items:
        api.status_pages.announcements.delete(note.id)
    for page in api.status_pages.clients.list(per_page=200).items:
        api.status_pages.clients.delete(page.id)
    api.status_pages.put(PageSettings())
    for monitor in api.monitors.list(per_page=200).items:
        api.monitors.delete(monitor.id)


def org_slug(api: Client) -> str:
    return api.organization.get().slug


def monitor(api: Client, name: str) -> int:
    made = api.monitors.create(name=name, type="http", url="http://127.0.0.1:9/", paused=True)
    return made.id


def test_the_global_page_is_set_with_its_monitors_and_its_token_is_printed_once(
    config_dir: Path, api: Client
) -> None:
    first, second = monitor(api, "checkout api"), monitor(api, "search")
    shown = json.loads(run(config_dir, "status-pages", "show", "--json").stdout)
    assert (shown["kind"], shown["require_token"], shown["monitor_ids"]) == ("global", False, [])

    saved = run(
        config_dir, "status-pages", "set", "--title", "Acme Status", "--monitor", str(second),
        "--monitor", str(first), "--require-token",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    assert "shown once" in saved.stdout and "will not be shown again" in saved.stdout
    token = saved.stdout.split("not be shown again): ")[1].split()[0]

    public = api.status_pages.public(org_slug(api), token=token)
    assert public.title == "Acme Status"
    assert [m.name for m in public.monitors] == ["search", "checkout api"]  # in the order given
    with pytest.raises(ClientError):
        api.status_pages.public(org_slug(api))  # no token, no page

    # What is not given stays; the token is not shown again.
    again = run(config_dir, "status-pages", "set", "--company-name", "Acme Inc", "--json")
    assert again.exit_code == 0, again.output
    kept = json.loads(again.stdout)
    assert (kept["title"], kept["monitor_ids"], kept["token"]) == (
        "Acme Status", [second, first], None,
    )  # fmt: skip
    human = run(config_dir, "status-pages", "show")
    assert "Acme Inc" in human.stdout and token not in human.stdout

    renewed = run(config_dir, "status-pages", "regenerate-token", "--yes", "--json")
    new_token = json.loads(renewed.stdout)["token"]
    assert new_token and new_token != token
    with pytest.raises(ClientError):
        api.status_pages.public(org_slug(api), token=token)

    history = run(config_dir, "status-pages", "generate-history", "--json")
    assert history.exit_code == 0, history.output
    assert json.loads(history.stdout)["monitors"] == 2


def test_client_pages_are_added_listed_changed_and_deleted_by_their_slug(
    config_dir: Path, api: Client
) -> None:
    checkout = monitor(api, "checkout api")
    added = run(
        config_dir, "status-pages", "clients", "add", "--name", "Globex Corp", "--monitor",
        str(checkout), "--require-token",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Client page" in added.stdout and "shown once" in added.stdout
    plain = run(config_dir, "status-pages", "clients", "add", "--name", "Initech", "--json")
    assert json.loads(plain.stdout)["token"] is None  # no token required, none made

    listed = run(config_dir, "status-pages", "clients", "list")
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:4] == ["ID", "NAME", "SLUG", "ENABLED"]
    assert [row.split()[-6] for row in rows] == ["globex-corp", "initech"]  # by name

    shown = json.loads(run(config_dir, "status-pages", "clients", "show", "globex-corp",
                           "--json").stdout)  # fmt: skip
    assert (shown["monitor_ids"], shown["require_token"]) == ([checkout], True)

    edited = run(
        config_dir, "status-pages", "clients", "edit", "globex-corp", "--title", "Globex status",
        "--disabled", "--no-monitors",
    )  # fmt: skip
    assert edited.exit_code == 0, edited.output
    page = api.status_pages.clients.get(shown["id"])
    assert (page.title, page.enabled, page.monitor_ids) == ("Globex status", False, [])

    renewed = run(config_dir, "status-pages", "regenerate-token", "--client", "globex-corp",
                  "--yes")  # fmt: skip
    assert renewed.exit_code == 0 and "shown once" in renewed.stdout

    gone = run(config_dir, "status-pages", "clients", "delete", "globex-corp", "--yes")
    assert gone.exit_code == 0, gone.output
    assert [p.slug for p in api.status_pages.clients.list().items] == ["initech"]

    unknown = run(config_dir, "status-pages", "clients", "show", "no-such-page")
    assert unknown.exit_code == 2 and "no client page has the slug 'no-such-page'" in unknown.output


def test_an_announcement_moves_through_its_states_and_is_deleted(
    config_dir: Path, api: Client
) -> None:
    api.status_pages.clients.create(name="Globex")
    made = run(config_dir, "announce", "add", "Slow checkouts", "--body", "Looking into it")
    assert made.exit_code == 0, made.output
    assert "on global: investigating" in made.stdout
    other = run(config_dir, "announce", "new", "Globex only", "--body", "Hello", "--page",
                "globex", "--state", "identified", "--json")  # fmt: skip
    assert json.loads(other.stdout)["page"] == "globex"

    on_global = json.loads(run(config_dir, "announce", "list", "--status-page", "global",
                               "--json").stdout)  # fmt: skip
    (note,) = on_global["items"]
    assert note["title"] == "Slow checkouts"

    moved = run(config_dir, "announce", "update", str(note["id"]), "--state", "monitoring",
                "--body", "A fix is out")  # fmt: skip
    assert moved.exit_code == 0 and "is monitoring" in moved.stdout
    steps = run(config_dir, "announce", "show", str(note["id"]))
    assert "Looking into it" in steps.stdout and "A fix is out" in steps.stdout

    nothing = run(config_dir, "announce", "update", str(note["id"]))
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output

    gone = run(config_dir, "announce", "rm", str(note["id"]), "--yes")
    assert gone.exit_code == 0, gone.output
    left = api.status_pages.announcements.list().items
    assert [each.title for each in left] == ["Globex only"]


def confirm_all(server: ServerProcess) -> None:
    """Confirm every pending subscriber, as following the mailed link does: that link opens a
    page outside the API (`/status-subscription/confirm`), so the row is changed directly."""
    with sqlite3.connect(server.data_dir / "upmetr.db") as db:
        db.execute(
            "UPDATE status_subscriber SET confirmed_at = CURRENT_TIMESTAMP"
            " WHERE confirmed_at IS NULL"
        )


def test_subscribers_who_confirmed_are_listed_and_removed(
    config_dir: Path, api: Client, server: ServerProcess
) -> None:
    api.status_pages.clients.create(name="Globex")
    api.status_pages.subscribe(org_slug(api), "ann@example.com")
    api.status_pages.subscribe(org_slug(api), "bo@example.com", client_slug="globex")
    pending = json.loads(run(config_dir, "status-pages", "subscribers", "--json").stdout)
    assert pending["items"] == []  # nobody has said yes yet

    confirm_all(server)
    listed = run(config_dir, "status-pages", "subscribers")
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "EMAIL", "PAGE", "CONFIRMED", "SINCE"]
    assert [row.split()[1] for row in rows] == ["ann@example.com", "bo@example.com"]
    only = run(config_dir, "status-pages", "subscribers", "--status-page", "globex", "--json")
    (bo,) = json.loads(only.stdout)["items"]
    assert (bo["email"], bo["page"]) == ("bo@example.com", "globex")

    removed = run(config_dir, "status-pages", "remove-subscriber", str(bo["id"]), "--yes")
    assert removed.exit_code == 0, removed.output
    assert [s.email for s in api.status_pages.subscribers.list().items] == ["ann@example.com"]
