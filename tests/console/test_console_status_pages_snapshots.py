"""The status pages view and an announcement's steps, as pictures at 80x24 and 160x48,
reached by key presses.

Shares the way of test_console_snapshots.py (a real server on a thread, each picture taken
once every read is done and the status bar says live), over its fixed world plus pages and
announcements made through the API. Those carry the server's clock; the console's clock is
ANCHOR, a minute before the fixture ran, so every time the view draws reads `0s` whenever
the suite runs. The world's monitors were last checked long before: no 24-hour uptime.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import UpmetrApp
from console.local_server import LocalServer
from console.preferences import Preferences
from console.screens.status_pages import AnnouncementScreen, StatusPagesScreen
from shared.api.status_pages import PageSettings
from shared.client import Client
from tests.console.console_harness import LARGE, SMALL, table_text
from tests.console.snapshot_world import SHOWN_URL, SnapshotWorld, prepare, server_settings
from tests.console.test_console_snapshots import INCIDENTS_SHOWN, Compare, driven, live, on_screen

sizes = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])


@dataclass
class Pages:
    url: str
    world: SnapshotWorld
    anchor: datetime


@pytest.fixture(scope="module")
def pages(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    data_dir = tmp_path_factory.mktemp("status-snapshots") / "data"
    world = prepare(template_db, data_dir)
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    with LocalServer(server_settings(data_dir)) as server:
        with Client(server.url, access_token=world.alice.access_token) as api:
            ids = {monitor.name: monitor.id for monitor in api.monitors.list(per_page=200).items}
            shown = ["checkout api", "payments gateway", "search", "postgres primary"]
            api.status_pages.put(
                PageSettings(title="Acme Status", monitor_ids=[ids[name] for name in shown])
            )
            api.status_pages.clients.create(
                name="Globex Corporation", slug="globex", require_token=True,
                monitor_ids=[ids["checkout api"], ids["payments gateway"]],
            )  # fmt: skip
            api.status_pages.clients.create(
                name="Initech", enabled=False, monitor_ids=[ids["shop dns"]]
            )
            notes = api.status_pages.announcements
            done = notes.create(title="Database upgrade finished", body="All good again.")
            notes.update(done.id, state="resolved", body="The upgrade is done.")
            slow = notes.create(
                title="Payments are slow to confirm",
                body="Card payments take up to a minute to confirm; we are looking into it.",
            )
            notes.update(slow.id, state="identified", body="A queue of the card processor.")
            notes.create(title="Globex invoices delayed", body="Invoices go out tomorrow.",
                         page="globex")  # fmt: skip
        yield Pages(server.url, world, anchor)


def console(pages: Pages, view: str) -> UpmetrApp:
    """The console as alice at ANCHOR, tokens in memory only, default look."""
    return UpmetrApp(
        pages.url,
        credentials=pages.world.alice,
        credentials_url=SHOWN_URL,
        preferences=Preferences(),
        clock=lambda: pages.anchor,
        remember=False,
        start_view=view,
    )


def notes_shown(pilot: Pilot[None]) -> bool:
    return "Payments are slow" in table_text(pilot, "#announcements")


@sizes
def test_colon_status_opens_the_pages_with_the_global_pages_monitors_and_notes(
    snap_compare: Compare, pages: Pages, size: tuple[int, int]
) -> None:
    opened = on_screen(StatusPagesScreen, live, notes_shown)
    run = driven(INCIDENTS_SHOWN, (("colon", *"status", "enter"), opened))
    assert snap_compare(console(pages, "incidents"), terminal_size=size, run_before=run)


@sizes
def test_enter_on_an_announcement_shows_its_steps(
    snap_compare: Compare, pages: Pages, size: tuple[int, int]
) -> None:
    opened = on_screen(StatusPagesScreen, live, notes_shown)
    steps = on_screen(AnnouncementScreen)
    # Newest first: the slow payments, then the finished upgrade.
    run = driven(((), opened), (("tab", "tab", "enter"), steps))
    assert snap_compare(console(pages, "status"), terminal_size=size, run_before=run)
