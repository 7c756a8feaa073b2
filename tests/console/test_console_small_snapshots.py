"""Pictures of the console at 80x24 for what a small terminal used to cut: a notification
over the frame's border, and a `/` filter that the title did not mention.

Shares the way of test_console_snapshots.py: the real server on a thread, on the fixed
world of tests/console/snapshot_world.py, each picture taken once every read is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.local_server import LocalServer
from console.screens.monitors import MonitorsScreen
from tests.console.console_harness import SMALL
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


@pytest.fixture(scope="module")
def running(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("small-snapshots") / "data"
    world = prepare(template_db, data_dir)
    with LocalServer(server_settings(data_dir)) as server:
        yield Running(server.url, world)


def notified(pilot: Pilot[None]) -> bool:
    return bool(pilot.app.screen.query("Toast"))


def test_a_notification_sits_inside_the_frame_above_the_footer(
    snap_compare: Compare, running: Running
) -> None:
    """`a` on a resolved incident: nothing to acknowledge, said in a notification."""
    run = driven(INCIDENTS_SHOWN, (("j", "j", "a"), notified))
    assert snap_compare(console(running, view="incidents"), terminal_size=SMALL, run_before=run)


def test_the_monitors_title_says_what_a_filter_keeps(
    snap_compare: Compare, running: Running
) -> None:
    def filtered(pilot: Pilot[None]) -> bool:
        return "(1 of 6) /pay" in str(pilot.app.screen.query_one("#monitors").border_title)

    monitors = on_screen(MonitorsScreen, live, shows("nightly backup"))
    run = driven(INCIDENTS_SHOWN, (("3",), monitors), (("slash", *"pay", "enter"), filtered))
    assert snap_compare(console(running, view="incidents"), terminal_size=SMALL, run_before=run)
