"""The platform admin view as pictures at 80x24 and 160x48, reached by key presses: `:admin`
opens it, `s` asks before suspending.

Shares the way of test_console_snapshots.py over its fixed world, in which alice is also a
platform admin here, org B is suspended and has a module granted on top of its plan."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.local_server import LocalServer
from console.screens.admin import AdminScreen
from console.screens.confirm import ConfirmScreen
from tests.console.console_harness import LARGE, SMALL
from tests.console.snapshot_world import prepare, server_settings
from tests.console.test_console_snapshots import (
    INCIDENTS_SHOWN,
    Compare,
    Running,
    console,
    driven,
    on_screen,
    shows,
)

sizes = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])


@pytest.fixture(scope="module")
def running(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("admin-snapshots") / "data"
    world = prepare(template_db, data_dir)
    with sqlite3.connect(data_dir / "upmetr.db") as db:
        db.execute("UPDATE user SET is_platform_admin = 1 WHERE email = 'alice@example.com'")
        db.execute(
            "UPDATE organization SET status = 'suspended', extra_modules = '[\"whitelabel\"]' "
            "WHERE id = ?",
            (world.org_b,),
        )
    with LocalServer(server_settings(data_dir)) as server:
        yield Running(server.url, world)


ADMIN_SHOWN = on_screen(AdminScreen, shows("org-b"))


@sizes
def test_colon_admin_opens_the_organizations_and_figures(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(INCIDENTS_SHOWN, (("colon", *"admin", "enter"), ADMIN_SHOWN))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_s_asks_before_suspending_an_organization(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(INCIDENTS_SHOWN, (("colon", *"admin", "enter"), ADMIN_SHOWN),
                 (("s",), on_screen(ConfirmScreen)))  # fmt: skip
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)
