"""The inbox and channels views, and the unread count in the status bar, against the real
server: live lines, mark read, read all, delete, a test message and switching a channel."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from textual.pilot import Pilot

from console.screens.channels import ChannelsScreen
from console.screens.notifications import NotificationsScreen
from console.widgets.status_bar import StatusBar
from tests.conftest import Person, World
from tests.console.console_harness import SMALL, console_for, open_incident, table_text, until
from tests.server.channels.receivers import WEBHOOK_SECRET, Receiver, receiver

__all__ = ["receiver"]


def header(pilot: Pilot[None]) -> str:
    return pilot.app.screen.query_one(StatusBar).render().plain


def notified(pilot: Pilot[None]) -> str:
    return "\n".join(str(n.message) for n in pilot.app._notifications)


async def add_channel(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    **body: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/notifications/channels", json=body, headers=person.headers
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def test_the_inbox_follows_new_lines_and_the_header_counts_what_is_unread(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "queue backlog", "warning")
    app = console_for(client, world.alice, view="notifications")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "queue backlog" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        assert "✉ 1" in header(pilot)
        assert table_text(pilot).startswith("● new")

        await open_incident(client, world.alice, "db down")  # a line arrives live
        await until(pilot, lambda: "db down" in table_text(pilot).splitlines()[0])
        await until(pilot, lambda: app.unread == 2)
        assert "✉ 2" in header(pilot)

        await pilot.press("g", "r")  # the cursor stayed on its line: up to the newest
        await until(pilot, lambda: app.unread == 1)
        assert not table_text(pilot).splitlines()[0].startswith("● new")
        await pilot.press("R")
        await until(pilot, lambda: app.unread == 0)
        assert "● new" not in table_text(pilot)
        await pilot.press("d")
        await until(pilot, lambda: len(table_text(pilot).splitlines()) == 1)
        screen = app.screen
        assert isinstance(screen, NotificationsScreen) and screen.total == 1


async def test_t_sends_a_test_message_and_e_switches_a_channel_off_and_on(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    receiver: Receiver,
) -> None:
    await add_channel(
        client, world.alice, name="hooks", type="webhook",
        config={"url": f"{receiver.url}/hook", "secret": WEBHOOK_SECRET},
    )  # fmt: skip
    app = console_for(client, world.alice, view="channels")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "hooks" in table_text(pilot))
        assert "● on" in table_text(pilot) and "never" in table_text(pilot)
        await pilot.press("t")
        await until(pilot, lambda: "delivered, 200" in notified(pilot))
        assert receiver.last.path == "/hook"
        receiver.answer(410, text="gone")
        await pilot.press("t")
        await until(pilot, lambda: "failed, 410 " in notified(pilot))
        assert "permanent" in notified(pilot)
        await pilot.press("e")
        await until(pilot, lambda: "○ off" in table_text(pilot))
        await pilot.press("e")
        await until(pilot, lambda: "● on" in table_text(pilot))


async def test_the_rules_show_below_the_channels_and_e_switches_the_focused_one(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    ops = await add_channel(
        client, world.alice, name="ops", type="email", config={"to": ["ops@example.com"]}
    )
    response = await client.post(
        "/api/v1/notifications/rules",
        json={"name": "page ops", "events": ["incident.*"], "channel_ids": [ops["id"]],
              "min_severity": "error", "escalate_after_minutes": 10,
              "escalation_channel_ids": [ops["id"]]},
        headers=world.alice.headers,
    )  # fmt: skip
    assert response.status == 201, await response.text()
    app = console_for(client, world.alice, view="channels")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "page ops" in table_text(pilot, "#rules"))
        rules = table_text(pilot, "#rules")
        assert "● on incident.* ▲ error ops after 10m: ops" in rules
        await pilot.press("tab", "e")
        await until(pilot, lambda: "○ off" in table_text(pilot, "#rules"))
        assert "● on" in table_text(pilot, "#channels")  # the channel stayed on


async def test_a_viewer_sees_channels_without_the_keys_that_change_them(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await add_channel(
        client, world.alice, name="ops", type="email", config={"to": ["ops@example.com"]}
    )
    app = console_for(client, world.bob, view="channels")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "ops" in table_text(pilot))
        screen = app.screen
        assert isinstance(screen, ChannelsScreen)
        await pilot.press("e")
        await pilot.pause(0.2)
        assert "● on" in table_text(pilot)
        assert screen.check_action("test", ()) is False


async def test_a_read_only_console_shows_the_inbox_keys_disabled_and_a_viewer_has_them(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "queue backlog", "warning")
    for person, readonly, allowed in ((world.alice, True, None), (world.bob, False, True)):
        app = console_for(client, person, view="notifications", readonly=readonly)
        async with app.run_test(size=SMALL) as pilot:
            await until(pilot, lambda: "queue backlog" in table_text(pilot))
            screen = app.screen
            assert isinstance(screen, NotificationsScreen)
            assert screen.check_action("read", ()) is allowed
            await pilot.press("enter")
            if readonly:
                await pilot.pause(0.2)
                assert "● new" in table_text(pilot)
            else:
                await until(pilot, lambda: "● new" not in table_text(pilot))
