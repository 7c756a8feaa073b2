"""The platform admin view against a real server: organizations with their figures, suspend
and reactivate behind a yes-or-no, and a clear refusal for members who are no platform
admins."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from textual.widgets import Static

from console.screens.admin import NOT_FOR_YOU, AdminScreen
from console.screens.confirm import ConfirmScreen
from console.screens.dashboard import DashboardScreen
from tests.conftest import World
from tests.console.console_harness import console_for, table_text, until
from tests.server.api_calls import call
from tests.server.test_admin import platform_admin

Client = TestClient  # type: ignore[type-arg]


def stats_text(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    return str(screen.query_one("#admin-stats", Static).render())


async def test_a_platform_admin_sees_every_org_and_suspends_one_after_saying_yes(
    client: Client, world: World, password_hash: str
) -> None:
    dave = await platform_admin(client, password_hash)
    app = console_for(client, dave, view="admin")
    async with app.run_test(size=(140, 30)) as pilot:
        await until(pilot, lambda: "org-b" in table_text(pilot))
        assert isinstance(app.screen, AdminScreen)
        assert "orgs 3 (0 suspended)" in stats_text(app)
        for slug in ("ops", "org-a", "org-b"):
            assert slug in table_text(pilot)
        await pilot.press("slash")
        await pilot.press(*"org-b", "enter")
        await until(pilot, lambda: "org-a" not in table_text(pilot))
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # not this time
        await until(pilot, lambda: isinstance(app.screen, AdminScreen))
        assert (await call(client, world.carol, "GET", "/monitors"))[0] == 200
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "suspended" in table_text(pilot))
        await until(pilot, lambda: "(1 suspended)" in stats_text(app))
        assert (await call(client, world.carol, "GET", "/monitors"))[0] == 403
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "(0 suspended)" in stats_text(app))
        assert (await call(client, world.carol, "GET", "/monitors"))[0] == 200


async def test_a_member_who_is_no_platform_admin_is_told_so(client: Client, world: World) -> None:
    app = console_for(client, world.alice, view="dashboard")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.me is not None)
        app.action_view("admin")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)  # the view did not open
    opened = console_for(client, world.alice, view="admin")
    async with opened.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: NOT_FOR_YOU in stats_text(opened))
        await pilot.press("s")
        assert not isinstance(opened.screen, ConfirmScreen)
