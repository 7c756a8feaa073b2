"""Every console screen as a picture, at 80x24 and 160x48, reached by key presses.

The pictures live in __snapshots__/ next to this file; after an intended change of the
console's look, look at the new ones and accept them with `--snapshot-update`.

pytest-textual-snapshot runs the app with `asyncio.run` itself, so the server (the real
app, on a fixed world: tests/console/snapshot_world.py) runs on a thread of its own. Each
picture is taken once the view has read its data and the status bar says live.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from console.app import UpmetrApp
from console.local_server import LocalServer
from console.preferences import Preferences
from console.screens.audit import AuditEntryScreen, AuditScreen
from console.screens.confirm import ConfirmScreen
from console.screens.dashboard import DashboardScreen
from console.screens.help import HelpScreen
from console.screens.incident_detail import IncidentDetailScreen
from console.screens.incidents import IncidentsScreen
from console.screens.login import LoginScreen
from console.screens.monitor_detail import MonitorDetailScreen
from console.screens.monitors import MonitorsScreen
from console.screens.org_switcher import OrgSwitcherScreen
from console.widgets.counter_tile import CounterTile
from console.widgets.prompt import Prompt
from console.widgets.resource_table import ResourceTable
from console.widgets.uptime_bar import UptimeBar
from tests.console.console_harness import LARGE, SMALL, fixed_clock, table_text, until
from tests.console.snapshot_world import MOMENT, SHOWN_URL, SnapshotWorld, prepare, server_settings

Compare = Callable[..., bool]
Ready = Callable[[Pilot[None]], bool]
# Workers that wait for the person at the keyboard (or run as long as the app): never done.
WAITING_GROUPS = frozenset({"live", "session", "org"})

sizes = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])


@dataclass
class Running:
    url: str
    world: SnapshotWorld


@pytest.fixture(scope="module")
def running(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("snapshots") / "data"
    world = prepare(template_db, data_dir)
    with LocalServer(server_settings(data_dir)) as server:
        yield Running(server.url, world)


def console(running: Running, *, signed_in: bool = True, view: str | None = None) -> UpmetrApp:
    """The console as alice at MOMENT, tokens in memory only, default look."""
    return UpmetrApp(
        running.url,
        credentials=running.world.alice if signed_in else None,
        credentials_url=SHOWN_URL,
        preferences=Preferences(),
        clock=fixed_clock(MOMENT),
        remember=False,
        start_view=view,
    )


def settled(pilot: Pilot[None]) -> bool:
    """Every read is done (no worker runs but those waiting on the person or the stream)
    and every table has measured its rows."""
    workers = pilot.app.workers
    if not all(worker.is_finished or worker.group in WAITING_GROUPS for worker in workers):
        return False
    # A DataTable sizes its columns to new rows only when the app is next idle
    # (DataTable._on_idle); a picture taken before that has header-wide columns.
    tables = (table for screen in pilot.app.screen_stack for table in screen.query(DataTable))
    return not any(table._require_update_dimensions or table._updated_cells for table in tables)


def live(pilot: Pilot[None]) -> bool:
    return getattr(pilot.app, "connection", None) == "live"


def shows(text: str) -> Ready:
    """The table in front has a row with `text`."""
    return lambda pilot: text in table_text(pilot)


def done(pilot: Pilot[None], ready: Ready) -> bool:
    return ready(pilot) and settled(pilot)


def driven(*steps: tuple[tuple[str, ...], Ready]) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Press each step's keys, then wait until it is ready and settled."""

    async def run(pilot: Pilot[None]) -> None:
        for keys, ready in steps:
            await pilot.press(*keys)
            await until(pilot, partial(done, pilot, ready), timeout=15)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor is on or off at random in a picture

    return run


def on_screen(kind: type[object], *more: Ready) -> Ready:
    def ready(pilot: Pilot[None]) -> bool:
        return isinstance(pilot.app.screen, kind) and all(condition(pilot) for condition in more)

    return ready


INCIDENTS_SHOWN: tuple[tuple[str, ...], Ready] = (
    (),
    on_screen(IncidentsScreen, live, shows("payments gateway is down")),
)


def dashboard_read(pilot: Pilot[None]) -> bool:
    tiles = pilot.app.screen.query(CounterTile).results(CounterTile)
    return all(tile.count is not None for tile in tiles)


@sizes
def test_the_console_opens_on_the_dashboard(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    ready = on_screen(DashboardScreen, live, dashboard_read)
    assert snap_compare(console(running), terminal_size=size, run_before=driven(((), ready)))


@sizes
def test_the_incidents_view(snap_compare: Compare, running: Running, size: tuple[int, int]) -> None:
    assert snap_compare(
        console(running, view="incidents"), terminal_size=size, run_before=driven(INCIDENTS_SHOWN)
    )


@sizes
def test_enter_opens_the_incident_detail(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    detail = on_screen(IncidentDetailScreen, shows("provider status page"))
    run = driven(INCIDENTS_SHOWN, (("enter",), detail))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_3_opens_the_monitors_view(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    monitors = on_screen(MonitorsScreen, live, shows("nightly backup"))
    run = driven(INCIDENTS_SHOWN, (("3",), monitors))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


def monitor_detail_read(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    return (
        isinstance(screen, MonitorDetailScreen)
        and screen.monitor is not None
        and bool(screen.query_one(UptimeBar).days)
    )


@sizes
def test_enter_on_a_monitor_opens_its_detail(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    monitors = on_screen(MonitorsScreen, live, shows("nightly backup"))
    run = driven(INCIDENTS_SHOWN, (("3",), monitors), (("enter",), monitor_detail_read))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_question_mark_opens_help(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(INCIDENTS_SHOWN, (("question_mark",), on_screen(HelpScreen, shows(":q"))))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_colon_opens_the_command_prompt(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    def typed(pilot: Pilot[None]) -> bool:
        return pilot.app.screen.query_one(Prompt).value == "mon"

    run = driven(INCIDENTS_SHOWN, (("colon", "m", "o", "n"), typed))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_slash_filters_the_incidents(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    def filtered(pilot: Pilot[None]) -> bool:
        return "renew" not in table_text(pilot)

    run = driven(INCIDENTS_SHOWN, (("slash", *"pay|search", "enter"), filtered))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_without_credentials_the_login_screen_shows(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(((), on_screen(LoginScreen)))
    assert snap_compare(console(running, signed_in=False), terminal_size=size, run_before=run)


@sizes
def test_o_opens_the_organization_switcher(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(INCIDENTS_SHOWN, (("o",), on_screen(OrgSwitcherScreen)))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_d_asks_before_deleting_an_incident(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(INCIDENTS_SHOWN, (("d",), on_screen(ConfirmScreen)))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_4_opens_the_audit_log(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(INCIDENTS_SHOWN, (("4",), on_screen(AuditScreen, live, shows("member.invited"))))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_enter_shows_an_audit_entry_in_full(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(
        INCIDENTS_SHOWN,
        (("4",), on_screen(AuditScreen, live, shows("member.invited"))),
        (("enter",), on_screen(AuditEntryScreen)),
    )
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


class OneTable(App[None]):
    CSS = "ResourceTable { width: 1fr; height: 1fr; }"  # as in every view: no resize on rows

    def compose(self) -> ComposeResult:
        yield ResourceTable(("ID", "TITLE"))


async def test_rows_painted_before_the_table_measured_them_are_shown_whole_after() -> None:
    """The pictures above caught it now and then: a reload painted before the idle
    measurement kept header-wide columns (Textual issue #4470)."""
    app = OneTable()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(ResourceTable)
        table.set_rows([(1, ["1", "first"])])
        await pilot.pause()
        table.set_rows([(1, ["1", "first"]), (2, ["2", "a fairly long title"])])
        await until(pilot, lambda: not table._require_update_dimensions)
        assert "a fairly long title" in table.render_line(2).text
