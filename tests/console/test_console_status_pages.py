"""The status pages view against the real server, driven by key presses: the global page
first, the selected page's monitors and announcements, an admin's announcement moved
through its states and deleted, and a viewer who may only read."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from textual.pilot import Pilot

from console.screens.confirm import ConfirmScreen
from console.screens.status_pages import AnnouncementScreen, StatusPagesScreen
from console.screens.text_entry import TextEntryScreen
from server.context import EVENTS
from shared.api.events import MonitorStatusChanged
from tests.conftest import Person, World
from tests.console.console_harness import SMALL, console_for, create_monitor, table_text, until


async def send(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await client.request(method, f"/api/v1{path}", json=body, headers=person.headers)
    assert response.status in (200, 201), await response.text()
    return dict(await response.json())


def typed(text: str) -> list[str]:
    """The keys that type `text` into a field."""
    return ["space" if char == " " else char for char in text]


def pages_text(pilot: Pilot[None]) -> str:
    return table_text(pilot, "#pages")


def notes_text(pilot: Pilot[None]) -> str:
    return table_text(pilot, "#announcements")


async def test_the_global_page_comes_first_and_the_selected_pages_monitors_and_notes_follow(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    checkout = await create_monitor(client, world.alice, "checkout api")
    search = await create_monitor(client, world.alice, "search")
    await send(client, world.alice, "PUT", "/status-pages/global",
               {"enabled": True, "monitor_ids": [search["id"], checkout["id"]]})  # fmt: skip
    globex = {"name": "Globex", "monitor_ids": [checkout["id"]], "require_token": True}
    await send(client, world.alice, "POST", "/status-pages/clients", globex)
    note = {"title": "Slow checkouts", "body": "Looking into it", "page": "globex"}
    await send(client, world.alice, "POST", "/status-pages/announcements", note)

    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.me is not None)
        await pilot.press("colon", *"status", "enter")
        await until(pilot, lambda: "Globex" in pages_text(pilot) and app.connection == "live")
        assert isinstance(app.screen, StatusPagesScreen)
        first, second = pages_text(pilot).splitlines()
        assert "(global)" in first and "on 2 no" in first
        assert second.startswith("Globex globex") and "1 yes" in second
        monitors = table_text(pilot, "#page-monitors").splitlines()
        assert [line.split()[0] for line in monitors] == ["search", "checkout"]
        assert notes_text(pilot) == ""  # the announcement is Globex's

        # A monitor's state follows its events in place.
        changed = MonitorStatusChanged(
            monitor_id=search["id"], name="search", status="down", previous_status="pending"
        )
        client.app[EVENTS].publish(world.org_a, changed)
        await until(pilot, lambda: "search ▼ down" in table_text(pilot, "#page-monitors"))

        # Another member's announcement shows without a key press (status_page.changed).
        upgrade = {"title": "Upgrade tonight", "body": "From 22:00 UTC"}
        await send(client, world.alice, "POST", "/status-pages/announcements", upgrade)
        await until(pilot, lambda: "Upgrade tonight" in notes_text(pilot))

        await pilot.press("j")
        await until(pilot, lambda: "Slow checkouts" in notes_text(pilot))
        assert "Upgrade tonight" not in notes_text(pilot)
        assert table_text(pilot, "#page-monitors").startswith("checkout api")

        await pilot.press("tab", "tab", "enter")  # past the monitors to the announcements
        await until(pilot, lambda: isinstance(app.screen, AnnouncementScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, StatusPagesScreen))

        await pilot.press("question_mark")  # help lists the view's keys and its command
        await until(pilot, lambda: "status n status.announce" in table_text(pilot))
        assert ":status  open status (or :sp" in table_text(pilot)  # no binding id


async def test_an_admin_announces_moves_the_note_through_its_states_and_deletes_it(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, view="status")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "(global)" in pages_text(pilot) and app.me is not None)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TextEntryScreen))
        await pilot.press(*typed("Slow checkouts"), "enter")
        await until(pilot, lambda: isinstance(app.screen, TextEntryScreen))
        await pilot.press(*typed("Payments are slow"), "enter")
        await until(pilot, lambda: "investigating Slow checkouts" in notes_text(pilot))

        notes = await send(client, world.alice, "GET", "/status-pages/announcements")
        (note,) = notes["items"]
        assert (note["page"], note["body"]) == ("global", "Payments are slow")

        for state in ("identified", "monitoring", "resolved"):
            await pilot.press("s")
            await until(pilot, lambda: f"{state} Slow" in notes_text(pilot))  # noqa: B023
        await pilot.press("s")  # resolved is the last state
        await pilot.pause(0.2)
        stored = await send(client, world.alice, "GET", f"/status-pages/announcements/{note['id']}")
        assert [step["state"] for step in stored["updates"]][-1] == "resolved"

        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: notes_text(pilot) == "")
    left = await send(client, world.alice, "GET", "/status-pages/announcements")
    assert left["items"] == []


async def test_a_viewer_reads_the_pages_without_the_keys_that_change_them(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await send(client, world.alice, "POST", "/status-pages/announcements",
               {"title": "Maintenance", "body": "Tonight"})  # fmt: skip
    app = console_for(client, world.bob, view="status")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "Maintenance" in notes_text(pilot) and app.me is not None)
        shown = {b.binding.description for b in app.screen.active_bindings.values()}
        assert not {"Announce", "Next state", "Delete"} & shown
        await pilot.press("n", "s", "d")
        await pilot.pause(0.2)
        assert isinstance(app.screen, StatusPagesScreen)
    notes = await send(client, world.alice, "GET", "/status-pages/announcements")
    assert [note["state"] for note in notes["items"]] == ["investigating"]
