"""The resources, resource detail, costs and budgets views as pictures, at 80x24 and
160x48, reached by key presses on fixed data (tests/console/cloud_world.py) at CLOUD_MOMENT.

Shares the way of test_console_snapshots.py: a real server on a thread, each picture taken
once every read is done and the status bar says live.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import UpmetrApp
from console.local_server import LocalServer
from console.preferences import MONO_THEME, Preferences
from console.screens.budgets import BudgetsScreen
from console.screens.confirm import ConfirmScreen
from console.screens.costs import CostsScreen
from console.screens.resource_detail import ResourceDetailScreen
from console.screens.resources import ResourcesScreen
from console.widgets.cost_breakdown import CostBreakdown
from console.widgets.forecast_chart import ForecastChart
from tests.console.cloud_world import CLOUD_MOMENT, fill, frozen_server_clock
from tests.console.console_harness import LARGE, SMALL, fixed_clock, table_text
from tests.console.snapshot_world import SHOWN_URL, prepare, server_settings
from tests.console.test_console_snapshots import (
    Compare,
    Ready,
    Running,
    driven,
    live,
    on_screen,
    shows,
)

sizes = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])


@pytest.fixture(scope="module")
def running(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("cloud-snapshots") / "data"
    world = prepare(template_db, data_dir)
    fill(data_dir, world.org_a)
    with frozen_server_clock(), LocalServer(server_settings(data_dir)) as server:
        yield Running(server.url, world)


def console(running: Running, view: str, theme: str | None = None) -> UpmetrApp:
    """The console as alice at CLOUD_MOMENT, tokens in memory only."""
    return UpmetrApp(
        running.url,
        credentials=running.world.alice,
        credentials_url=SHOWN_URL,
        preferences=Preferences(theme=theme) if theme else Preferences(),
        clock=fixed_clock(CLOUD_MOMENT),
        remember=False,
        start_view=view,
    )


RESOURCES_SHOWN: tuple[tuple[str, ...], Ready] = (
    (),
    on_screen(ResourcesScreen, live, shows("staging-db")),
)


def resource_detail_read(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    return (
        isinstance(screen, ResourceDetailScreen)
        and screen.resource is not None
        and "reboot" in table_text(pilot, "#resource-actions")
    )


def costs_read(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    if not isinstance(screen, CostsScreen) or screen.summary is None:
        return False
    chart = screen.query_one(ForecastChart)
    breakdowns = screen.query(CostBreakdown).results(CostBreakdown)
    return chart.forecast is not None and all(item.lines for item in breakdowns)


@sizes
def test_5_shows_the_resources(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    assert snap_compare(
        console(running, "resources"), terminal_size=size, run_before=driven(RESOURCES_SHOWN)
    )


@sizes
def test_res_command_asks_the_server_for_a_type_and_a_tag(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    def narrowed(pilot: Pilot[None]) -> bool:
        screen = pilot.app.screen
        return isinstance(screen, ResourcesScreen) and screen.table.row_count == 3

    keys = ("colon", *"res type=ec2 tag=env:prod", "enter")
    run = driven(RESOURCES_SHOWN, (keys, narrowed))
    assert snap_compare(console(running, "resources"), terminal_size=size, run_before=run)


@sizes
def test_enter_opens_a_resource_with_tags_metadata_and_history(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    detail = (("enter",), resource_detail_read)
    run = driven(RESOURCES_SHOWN, (("G", "k"), shows("web-1")), detail)
    assert snap_compare(console(running, "resources"), terminal_size=size, run_before=run)


@sizes
def test_x_asks_before_stopping_an_instance(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(RESOURCES_SHOWN, (("G", "k"), shows("web-1")), (("x",), on_screen(ConfirmScreen)))
    assert snap_compare(console(running, "resources"), terminal_size=size, run_before=run)


@sizes
def test_6_shows_the_costs(snap_compare: Compare, running: Running, size: tuple[int, int]) -> None:
    run = driven(RESOURCES_SHOWN, (("6",), lambda pilot: live(pilot) and costs_read(pilot)))
    assert snap_compare(console(running, "resources"), terminal_size=size, run_before=run)


BUDGETS_SHOWN: tuple[tuple[str, ...], Ready] = (
    (),
    on_screen(BudgetsScreen, live, shows("RDS this quarter")),
)


@sizes
def test_7_shows_the_budgets(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    assert snap_compare(
        console(running, "budgets"), terminal_size=size, run_before=driven(BUDGETS_SHOWN)
    )


def test_budgets_read_in_the_monochrome_theme(snap_compare: Compare, running: Running) -> None:
    assert snap_compare(
        console(running, "budgets", theme=MONO_THEME),
        terminal_size=LARGE,
        run_before=driven(BUDGETS_SHOWN),
    )
