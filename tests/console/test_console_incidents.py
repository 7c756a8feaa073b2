"""The incidents view against a real server: actions reach it, rows follow the live stream."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from console.screens.confirm import ConfirmScreen
from console.screens.incident_detail import IncidentDetailScreen
from console.screens.incidents import IncidentsScreen
from console.widgets.resource_table import ResourceTable
from tests.conftest import World
from tests.console.console_harness import (
    console_for,
    incident_status,
    open_incident,
    table_text,
    until,
)


async def test_acknowledge_from_the_table_reaches_the_server_and_the_row_follows_the_stream(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    incident = await open_incident(client, world.alice, "checkout is down")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "checkout is down" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        await pilot.press("a")
        await until(pilot, lambda: "acknowledged" in table_text(pilot))
        assert await incident_status(client, world.alice, incident["id"]) == "acknowledged"
        assert isinstance(app.screen, IncidentsScreen)


async def test_marked_incidents_are_acknowledged_together_after_confirming(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    first = await open_incident(client, world.alice, "first")
    second = await open_incident(client, world.alice, "second")
    untouched = await open_incident(client, world.alice, "untouched")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "first" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        await pilot.press("j", "space", "space", "a")  # newest first: skip "untouched"
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: table_text(pilot).count("acknowledged") == 2)
    assert await incident_status(client, world.alice, first["id"]) == "acknowledged"
    assert await incident_status(client, world.alice, second["id"]) == "acknowledged"
    assert await incident_status(client, world.alice, untouched["id"]) == "open"


async def test_delete_asks_first_and_no_keeps_the_incident(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    incident = await open_incident(client, world.alice, "keep me")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "keep me" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        assert await incident_status(client, world.alice, incident["id"]) == "open"
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "keep me" not in table_text(pilot))
    response = await client.get(f"/api/v1/incidents/{incident['id']}", headers=world.alice.headers)
    assert response.status == 404


async def test_the_detail_shows_the_timeline_and_a_note_lands_on_it_live(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "payments slow")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "payments slow" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentDetailScreen))
        await until(pilot, lambda: "opened" in table_text(pilot, "#timeline"))
        await pilot.press("n", *"rolled back v42", "enter")
        await until(pilot, lambda: "rolled back v42" in table_text(pilot, "#timeline"))
        await pilot.press("r")
        await until(pilot, lambda: "resolved" in table_text(pilot, "#timeline"))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await until(pilot, lambda: "resolved" in table_text(pilot))


async def test_vim_keys_move_through_the_table(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    for n in range(5):
        await open_incident(client, world.alice, f"incident {n}")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "incident 0" in table_text(pilot))
        table = app.screen.query_one(ResourceTable)
        await pilot.press("G")
        assert table.cursor_row == 4
        await pilot.press("k", "k")
        assert table.cursor_row == 2
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("j")
        assert table.cursor_row == 1


async def test_carol_sees_none_of_org_as_incidents_or_their_events(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.carol, "org B only")
    app = console_for(client, world.carol, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "org B only" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        await open_incident(client, world.alice, "org A secret")
        await open_incident(client, world.carol, "org B later")
        await until(pilot, lambda: "org B later" in table_text(pilot))
        assert "org A secret" not in table_text(pilot)


async def test_titles_are_shown_literally_not_as_console_markup(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "[bold]prod[/bold] checkout down")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "checkout down" in table_text(pilot))
        await pilot.pause()
        shown = app.export_screenshot(simplify=True)  # what is drawn, not what is stored
        assert "[bold]prod[/bold]" in shown.replace("&#160;", " ")


async def test_the_mouse_works_too_a_click_on_a_row_opens_its_detail(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "older")
    clicked = await open_incident(client, world.alice, "clicked")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "clicked" in table_text(pilot))
        # Below the border and the header, the newest first: "clicked", then "older". The
        # first click moves the cursor there, the second on the same row selects it.
        await pilot.click(ResourceTable, offset=(10, 2))
        await pilot.click(ResourceTable, offset=(10, 2))
        await until(pilot, lambda: isinstance(app.screen, IncidentDetailScreen))
        assert app.screen.incident_id == clicked["id"]


async def test_the_titles_count_follows_incidents_opened_and_deleted_live(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "checkout is down")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "checkout is down" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        table = app.screen.query_one(ResourceTable)
        assert table.border_title == "incidents (1)"
        opened = await open_incident(client, world.alice, "disk filling")
        await until(pilot, lambda: "disk filling" in table_text(pilot))
        assert table.border_title == "incidents (2)"
        deleted = await client.delete(
            f"/api/v1/incidents/{opened['id']}", headers=world.alice.headers
        )
        assert deleted.status == 204
        await until(pilot, lambda: "disk filling" not in table_text(pilot))
        assert table.border_title == "incidents (1)"
