"""The inbox and channels views as pictures, at 80x24 and 160x48, reached by key presses on
fixed data (tests/console/notifications_world.py), the unread count in the status bar.

Shares the way of test_console_snapshots.py: a real server on a thread, each picture taken
once every read is done and the status bar says live.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.local_server import LocalServer
from console.screens.channels import ChannelsScreen
from console.screens.notifications import NotificationsScreen
from tests.console.console_harness import LARGE, SMALL
from tests.console.notifications_world import fill
from tests.console.snapshot_world import prepare, server_settings
from tests.console.test_console_snapshots import (
    INCIDENTS_SHOWN,
    Compare,
    Running,
    console,
    driven,
    live,
    on_screen,
    shows,
)

sizes = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])


@pytest.fixture(scope="module")
def running(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("notification-snapshots") / "data"
    world = prepare(template_db, data_dir)
    fill(data_dir, world.org_a, world.alice.email)
    # The world's inbox is dated January 2026: the dispatcher's retention, which counts by
    # the wall clock, must not prune it while the pictures are taken.
    settings = server_settings(data_dir).model_copy(
        update={"inbox_keep_days": 36500, "notification_keep_days": 36500}
    )
    with LocalServer(settings) as server:
        yield Running(server.url, world)


def counted(pilot: Pilot[None]) -> bool:
    return getattr(pilot.app, "unread", None) == 2


@sizes
def test_8_opens_the_inbox_with_the_unread_count_in_the_header(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    inbox = on_screen(NotificationsScreen, live, counted, shows("payments gateway is down"))
    run = driven(INCIDENTS_SHOWN, (("8",), inbox))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_9_opens_the_channels_with_the_one_an_error_disabled(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    channels = on_screen(ChannelsScreen, live, counted, shows("billing hook"))
    run = driven(INCIDENTS_SHOWN, (("9",), channels))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


def test_notif_command_opens_the_inbox(snap_compare: Compare, running: Running) -> None:
    inbox = on_screen(NotificationsScreen, live, counted, shows("search is slow"))
    run = driven(INCIDENTS_SHOWN, (("colon", *"notif", "enter"), inbox))
    assert snap_compare(console(running, view="incidents"), terminal_size=SMALL, run_before=run)
