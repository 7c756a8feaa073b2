"""The console's shell against a real server: sign-in, roles, commands, org switch, live state."""

from __future__ import annotations

import pyotp
from aiohttp.test_utils import TestClient, TestServer

from console.app import UpmetrApp
from console.config import Credentials
from console.preferences import Preferences
from console.screens.help import HelpScreen
from console.screens.incidents import IncidentsScreen
from console.screens.login import LoginScreen
from console.screens.org_switcher import OrgSwitcherScreen
from console.widgets.prompt import Prompt
from server.app import build_app
from server.config import Settings
from server.context import SESSIONS
from server.db.models import Membership
from tests.builders import PASSWORD
from tests.conftest import World, sign_in
from tests.console.console_harness import (
    console_for,
    incident_status,
    open_incident,
    table_text,
    until,
)
from tests.e2e.upmetr_server import free_port


async def test_without_saved_credentials_the_login_screen_signs_in(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "queue backlog")
    app = console_for(client, None, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.click("#email")
        await pilot.press(*world.alice.email, "enter", *PASSWORD, "enter")
        await until(pilot, lambda: "queue backlog" in table_text(pilot))
        assert app.identity.startswith("alice@example.com")


async def test_a_wrong_password_is_said_on_the_login_screen_and_nothing_opens(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, None, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.click("#email")
        await pilot.press(*world.alice.email, "enter", *"not-the-password", "enter")
        error = app.screen.query_one("#login-error")
        await until(pilot, lambda: "password" in str(error.render()).lower())
        assert isinstance(app.screen, LoginScreen)


async def test_with_mfa_on_the_login_screen_asks_for_a_code(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    setup = await (await client.post("/api/v1/auth/mfa/setup", headers=world.alice.headers)).json()
    totp = pyotp.TOTP(setup["secret"])
    enabled = await client.post(
        "/api/v1/auth/mfa/enable", json={"code": totp.now()}, headers=world.alice.headers
    )
    assert enabled.status == 200
    backup_codes = (await enabled.json())["backup_codes"]
    app = console_for(client, None, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.click("#email")
        await pilot.press(*world.alice.email, "enter", *PASSWORD, "enter")
        await until(pilot, lambda: app.screen.query_one("#code").display)
        # The current TOTP code was spent enabling MFA (codes are single use): a backup code.
        await pilot.press(*backup_codes[0], "enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))


async def test_a_viewer_has_no_acknowledge_action_and_nothing_reaches_the_server(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    incident = await open_incident(client, world.alice, "api errors")
    app = console_for(client, world.bob, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "api errors" in table_text(pilot))
        assert app.screen.check_action("acknowledge", ()) is False
        await pilot.press("a")
        await pilot.pause(0.2)
        assert await incident_status(client, world.alice, incident["id"]) == "open"


async def test_read_only_shows_actions_disabled_and_does_not_act(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    incident = await open_incident(client, world.alice, "api errors")
    app = console_for(client, world.alice, readonly=True, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "api errors" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")  # signed in: role known
        assert app.screen.check_action("acknowledge", ()) is None  # shown, disabled
        await pilot.press("a")
        await pilot.pause(0.2)
        assert await incident_status(client, world.alice, incident["id"]) == "open"


async def test_command_line_aliases_history_and_quit(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await pilot.press("colon", *"help", "enter")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("colon", *"inc", "enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await pilot.press("colon", "up")
        assert app.screen.query_one(Prompt).value == "inc"
        await pilot.press("up")
        assert app.screen.query_one(Prompt).value == "help"
        await pilot.press("escape", "colon", *"q", "enter")
        await until(pilot, lambda: not app.is_running)


async def test_q_alone_does_not_quit_and_an_unknown_command_is_explained(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await pilot.press("q", "colon", *"nosuchview", "enter")
        await until(pilot, lambda: any("nosuchview" in str(n.message) for n in app._notifications))
        assert app.is_running


async def test_filter_takes_a_regex_and_an_exclamation_mark_inverts_it(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    for title in ("db-1 disk full", "db-2 disk full", "web latency"):
        await open_incident(client, world.alice, title)
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "web latency" in table_text(pilot))
        await pilot.press("slash", *r"db-\d")
        await until(pilot, lambda: "web latency" not in table_text(pilot))
        assert table_text(pilot).count("disk full") == 2
        await pilot.press("enter", "slash", "home", "!")
        await until(pilot, lambda: "disk full" not in table_text(pilot))
        assert "web latency" in table_text(pilot)
        await pilot.press("enter", "escape")
        await until(pilot, lambda: table_text(pilot).count("\n") == 2)


async def test_bindings_are_remapped_from_the_preferences(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    incident = await open_incident(client, world.alice, "remapped")
    preferences = Preferences(keys={"incidents.acknowledge": "A"})
    app = console_for(client, world.alice, preferences=preferences, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "remapped" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")  # signed in: role known
        await pilot.press("a")
        await pilot.pause(0.2)
        assert await incident_status(client, world.alice, incident["id"]) == "open"
        await pilot.press("A")
        await until(pilot, lambda: "acknowledged" in table_text(pilot))
        await pilot.press("colon", *"help", "enter")  # help says the key as remapped
        await until(pilot, lambda: "incidents.acknowledge" in table_text(pilot))
        rows = [row.split() for row in table_text(pilot).splitlines()]
        assert ["incidents", "A", "incidents.acknowledge"] in [row[:3] for row in rows]


async def test_a_refusal_from_the_server_is_a_readable_notification(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "noisy")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "noisy" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")  # signed in: role known
        await pilot.press("n")
        await until(pilot, lambda: app.screen.query("#entry").first().has_focus)
        app.screen.query_one("#entry").value = "x" * 2001  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        message = next(str(n.message) for n in app._notifications if n.severity == "error")
        assert "Traceback" not in message and "2000" in message


async def test_switching_organization_shows_only_the_other_orgs_incidents(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "org A problem")
    await open_incident(client, world.carol, "org B problem")
    async with client.app[SESSIONS]() as db, db.begin():
        db.add(Membership(user_id=world.alice.user_id, org_id=world.org_b, role="admin"))
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "org A problem" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")  # signed in: role known
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, OrgSwitcherScreen))
        await pilot.press("down", "enter")
        await until(pilot, lambda: "org B problem" in table_text(pilot))
        assert "org A problem" not in table_text(pilot)
        assert "Org B" in app.identity


async def test_a_hidden_view_catches_up_when_it_is_shown_again(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await open_incident(client, world.alice, "while away")
        await pilot.press("2")
        await until(pilot, lambda: "while away" in table_text(pilot))


async def test_the_header_says_reconnecting_and_the_view_resyncs_after_a_restart(
    settings: Settings,
    world: World,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = TestServer(build_app(settings), host="127.0.0.1", port=port)
    await first.start_server()
    credentials = Credentials(
        url, world.alice.access_token or "", world.alice.refresh_token or "", ""
    )
    app = UpmetrApp(url, credentials=credentials, remember=False, start_view="incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "live")
        await first.close()
        await until(pilot, lambda: app.connection == "reconnecting")
        second = TestServer(build_app(settings), host="127.0.0.1", port=port)
        await second.start_server()
        try:
            async with TestClient(second) as api:
                person = await sign_in(api, world.alice)
                await open_incident(api, person, "opened while reconnecting")
                await until(pilot, lambda: app.connection == "live", timeout=10)
                await until(pilot, lambda: "opened while reconnecting" in table_text(pilot))
        finally:
            await second.close()
